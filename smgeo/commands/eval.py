"""`smgeo eval`: metrics of a checkpoint on one split of a CVOGL-layout dataset, with the CVOGL protocol."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", required=True, help="folder holding the dataset folder")
    parser.add_argument("--data-name", required=True, help="dataset folder name, e.g. CVOGL_DroneAerial")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", help="write {'metrics', 'samples'} JSON here")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")


def run(args: argparse.Namespace) -> int:
    from smgeo.evaluation import evaluate_checkpoint

    metrics, samples = evaluate_checkpoint(
        args.checkpoint, args.data_root, args.data_name, args.split, args.batch_size, args.device
    )
    print(json.dumps(metrics, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"metrics": metrics, "samples": samples}, indent=1))
    return 0
