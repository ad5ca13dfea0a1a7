"""`smgeo finetune`: fine-tune a trained model on a few labels in CVOGL layout with the measured recipe
(smgeo.finetune). The train split trains, the val split decides (the base is the first candidate), the test split is
never read; the kept model is OUT_DIR/model.pt."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from smgeo.finetune import FineTuneRecipe

    defaults = FineTuneRecipe()
    parser.add_argument("--init-from", required=True, help="the trained checkpoint to fine-tune")
    parser.add_argument("--data-root", required=True, help="folder holding the dataset folder")
    parser.add_argument("--data-name", required=True, help="the dataset folder (CVOGL layout: train and val splits)")
    parser.add_argument("--out-dir", required=True, help="checkpoints, metrics.jsonl and the kept model.pt")
    parser.add_argument("--steps", type=int, default=defaults.steps, help=f"optimizer steps ({defaults.steps})")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"peak lr for a batch of 8 ({defaults.lr:g})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help=f"({defaults.batch_size})")
    parser.add_argument("--views", choices=("standard", "strong"), default=defaults.views, help="augmentation")
    parser.add_argument("--freeze", action="append", default=[], metavar="PREFIX", help="e.g. backbone (repeat)")
    parser.add_argument("--eval-every-steps", type=int, default=defaults.eval_every_steps)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")


def run(args: argparse.Namespace) -> int:
    from smgeo.checkpoint import CheckpointError
    from smgeo.data.cvogl import CVOGLFormatError
    from smgeo.finetune import FineTuneRecipe, finetune

    try:
        recipe = FineTuneRecipe(
            steps=args.steps, lr=args.lr, batch_size=args.batch_size, views=args.views, frozen=tuple(args.freeze),
            eval_every_steps=args.eval_every_steps, seed=args.seed,
        )  # fmt: skip
        result = finetune(args.init_from, args.data_root, args.data_name, args.out_dir, recipe, device=args.device)
    except (CheckpointError, CVOGLFormatError, FileNotFoundError, ValueError) as exc:
        print(f"smgeo finetune: error: {exc}", file=sys.stderr)
        return 2
    summary = {
        "status": result.status, "kept": result.kept, "summary": result.summary, "steps": result.steps,
        "best_step": result.best_step, "base_val": result.base_val, "val": result.val,
        "effective_lr": result.effective_lr, "recipe": dataclasses.asdict(recipe),
        "model_checkpoint": str(result.model_checkpoint) if result.model_checkpoint else None,
    }  # fmt: skip
    print(json.dumps(summary, indent=2))
    return 0 if result.status == "finished" else 1
