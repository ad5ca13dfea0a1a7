"""The `smgeo` command line: one sub-command per module in `smgeo.commands`."""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys

from smgeo import __version__

# name -> one-line help. Each `smgeo.commands.<name>` module has `add_arguments(parser)` and `run(args) -> int`.
COMMANDS = {
    "synth": "write a deterministic synthetic cross-view dataset in the CVOGL layout",
    "mission": "write a synthetic field mission: georeferenced basemap PNGs and drone JPEGs with EXIF GPS",
    "train": "train or fine-tune on a CVOGL-layout dataset (DDP under torchrun)",
    "finetune": "fine-tune a trained model on a few labels with the measured recipe; the base stays if not beaten",
    "recipe": "the fine-tune recipe's development design: candidates on N labels, each beside the base on test",
    "eval": "evaluate a checkpoint on a CVOGL-layout split with the location-aware CVOGL protocol",
    "predict": "localize one click of a drone image in a satellite image",
    "ablate": "train and evaluate the ablation variants with one budget; write their metrics as JSON",
    "visualize": "draw a sample's prediction, heatmap and expert-activation maps as PNG files",
    "card": "a model card: held-out metrics on each test set, a synthetic mission's result, size and budget, as JSON",
    "routers": "per layer and view: expert loads, gate entropy, logit spread and top-1 churn of a training run",
    "bench": "measure latency, throughput, FLOP/s against a same-run GEMM, and sparse vs dense MoE",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smgeo", description="SMGeo: click-promptable cross-view localization.")
    parser.add_argument("--version", action="version", version=f"smgeo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"smgeo.commands.{name}")
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # what reproduces the run, for the result files a command writes
    args.command_line = shlex.join(["smgeo", *(sys.argv[1:] if argv is None else argv)])
    if args.command is None:
        parser.print_help()
        return 0
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
