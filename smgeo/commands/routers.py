"""`smgeo routers`: how a run's routers split the tokens among the experts, per layer and view, at each validation
(read from the run's metrics.jsonl; see `smgeo.router_stats` for what each column means).

Example: `smgeo routers runs/demo/metrics.jsonl --plot docs/img/demo-training.png` (the table, and the run's
validation and router curves as a picture)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("metrics", help="a training run's metrics.jsonl")
    parser.add_argument("--plot", help="also draw val accuracy and the router curves into this PNG")


def run(args: argparse.Namespace) -> int:
    from smgeo.router_stats import router_table

    path = Path(args.metrics)
    if not path.is_file():
        print(f"smgeo routers: error: {path} does not exist", file=sys.stderr)
        return 2
    print(router_table(path))
    if args.plot:
        from smgeo.run_plots import run_figure

        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        run_figure(path).savefig(args.plot)
        print(f"wrote {args.plot}")
    return 0
