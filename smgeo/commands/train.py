"""`smgeo train`: train or fine-tune on a CVOGL-layout dataset. Under torchrun it trains with DDP."""

from __future__ import annotations

import argparse
import json
import sys

from smgeo.commands.common import add_config_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--out-dir", help="where checkpoints and metrics.jsonl go (train.out_dir)")
    parser.add_argument("--epochs", type=int, help="train.epochs")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (train.max_steps)")
    parser.add_argument(
        "--resume",
        help="continue exactly from a checkpoint written by a run with this config and global batch (only the "
        "out dir, data root, loader workers, max steps and log interval may change)",
    )
    parser.add_argument("--init-from", help="start from the weights of this checkpoint (fine-tuning)")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")


def run(args: argparse.Namespace) -> int:
    from smgeo.checkpoint import CheckpointError
    from smgeo.resume import ResumeError
    from smgeo.training import train

    config = config_from_args(
        args, extra={"train.out_dir": args.out_dir, "train.epochs": args.epochs, "train.max_steps": args.max_steps}
    )
    try:
        result = train(config, resume=args.resume, init_from=args.init_from, device=args.device)
    except (ResumeError, CheckpointError, FileNotFoundError) as exc:
        print(f"smgeo train: error: {exc}", file=sys.stderr)
        return 2
    summary = {
        "status": result.status,
        "epochs": result.state.epoch,
        "steps": result.state.step,
        "best_epoch": result.state.best_epoch,
        "val": result.val_metrics,
        "effective_lr": result.effective_lr,
        "model_checkpoint": str(result.model_checkpoint) if result.model_checkpoint else None,
    }
    print(json.dumps(summary, indent=2))
    return 0
