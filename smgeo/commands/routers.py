"""`smgeo routers`: how a run's routers split the tokens among the experts, per layer and view, at each validation
(read from the run's metrics.jsonl; see `smgeo.router_stats` for what each column means).

Example: `smgeo routers runs/demo/metrics.jsonl`
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("metrics", help="a training run's metrics.jsonl")


def run(args: argparse.Namespace) -> int:
    from smgeo.router_stats import router_table

    path = Path(args.metrics)
    if not path.is_file():
        print(f"smgeo routers: error: {path} does not exist", file=sys.stderr)
        return 2
    print(router_table(path))
    return 0
