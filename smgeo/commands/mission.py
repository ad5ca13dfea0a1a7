"""`smgeo mission`: write a synthetic field mission a team could upload — basemap PNG(s) with lon/lat bounds and
drone JPEGs with EXIF GPS — plus `mission.json` with the clicks and true boxes (see `smgeo.synth.mission`).

Example: `smgeo mission --out var/demo-mission --scenes 1 --seed 0` (what `make run` seeds its demo mission from).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from smgeo.commands.synth import add_look_arguments, look_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder for the basemap(s), drone photos and mission.json")
    parser.add_argument("--scenes", type=int, default=1, help="basemaps, each with its drone photos (default: 1)")
    parser.add_argument("--seed", type=int, default=0, help="same seed -> same files (default: 0)")
    parser.add_argument(
        "--split",
        choices=("train", "val", "test"),
        default="test",
        help="the synthetic dataset's split the scenes come from (default: test, which no model trained on)",
    )
    parser.add_argument("--gsd-m", type=float, default=0.3, help="metres per basemap pixel (default: 0.3)")
    parser.add_argument("--overwrite", action="store_true", help="replace a mission already in OUT")
    add_look_arguments(parser.add_argument_group("the scenes' look (e.g. a domain other than a model's training data)"))


def run(args: argparse.Namespace) -> int:
    from smgeo.synth.mission import write_mission  # imported here: `smgeo --help` stays fast

    out = Path(args.out)
    if args.scenes < 1:
        print("smgeo mission: error: --scenes must be at least 1", file=sys.stderr)
        return 2
    if (out / "mission.json").exists() and not args.overwrite:
        print(f"smgeo mission: error: {out} already holds a mission (use --overwrite to replace it)", file=sys.stderr)
        return 2
    try:
        options = look_options(args)
    except ValueError as error:
        print(f"smgeo mission: error: {error}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    manifest = write_mission(
        out, scenes=args.scenes, seed=args.seed, split=args.split, gsd_m=args.gsd_m, options=options
    )
    print(
        f"wrote {len(manifest['basemaps'])} basemap(s) and {len(manifest['drone_images'])} drone photo(s) to {out} "
        f"in {time.perf_counter() - start:.1f} s (clicks and true boxes in {out / 'mission.json'})"
    )
    return 0
