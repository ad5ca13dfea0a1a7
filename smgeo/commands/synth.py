"""`smgeo synth`: write a deterministic synthetic cross-view dataset in the CVOGL layout.

Example: `smgeo synth --out data --name SynthDroneAerial --scenes-train 200 --workers 2`
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smgeo.synth import SynthOptions

DEFAULT_SCENES = {"train": 200, "val": 25, "test": 50}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="data", help="data root; the dataset goes to OUT/NAME/ (default: data)")
    parser.add_argument("--name", default="SynthDroneAerial", help="dataset name (default: SynthDroneAerial)")
    parser.add_argument("--seed", type=int, default=0, help="same seed and options -> same bytes (default: 0)")
    for split, count in DEFAULT_SCENES.items():
        parser.add_argument(f"--scenes-{split}", type=int, default=count, help=f"{split} scenes (default: {count})")
    add_look_arguments(parser)
    parser.add_argument("--satellite-size", type=int, help="satellite image side, pixels (1024)")
    parser.add_argument("--query-size", type=int, help="drone query side, pixels (256)")
    parser.add_argument("--image-format", choices=("jpg", "png"), help="image files (jpg, quality 95)")
    parser.add_argument("--workers", type=int, default=1, help="processes (default: 1); the output does not change")
    parser.add_argument("--overwrite", action="store_true", help="replace a dataset already at OUT/NAME")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--preview", metavar="PNG", help="write a contact sheet of the styles and of --style's draws, no data"
    )


def add_look_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The flags of the scenes' look, shared with `smgeo mission`: a difficulty preset and knobs that override it."""
    parser.add_argument(
        "--difficulty",
        choices=("easy", "default", "hard"),
        default="default",
        help="preset for distractors, similarity, pitch and photometric strength; flags override it",
    )
    parser.add_argument("--targets-per-scene", type=int, help="pairs per scene, sharing its satellite image (4)")
    parser.add_argument("--distractors", type=int, help="look-alikes per target (preset: 2 / 4 / 6)")
    parser.add_argument(
        "--distractor-similarity",
        type=float,
        help="0..1, 1 = look-alikes identical to their target (preset: 0.3 / 0.6 / 0.85)",
    )
    parser.add_argument("--pitch-min", type=float, help="smallest camera tilt from nadir, degrees (preset: 10/20/30)")
    parser.add_argument("--pitch-max", type=float, help="largest camera tilt from nadir, degrees (preset: 35/55/60)")
    parser.add_argument("--photometric", type=float, help="0..1 strength of the drone's light/colour/blur/noise change")
    parser.add_argument(
        "--placement", type=float, help="0..0.5: how far from the query's centre the target may be (0.42)"
    )
    parser.add_argument(
        "--style",
        help="rendering style: temperate (the first demo model's), arid, winter, city, tropical or autumn; several "
        "comma-separated (one drawn per scene) or all-but:NAME (every style but one: leave-one-style-out)",
    )
    parser.add_argument("--style-jitter", type=float, help="0..1: each scene's colours shifted at random (0)")


def look_options(args: argparse.Namespace, **more: object) -> SynthOptions:
    """The generator's options from the look flags (add_look_arguments) and `more` fields; ValueError naming what
    is wrong."""
    from smgeo.synth import synth_options  # imported here: `smgeo --help` stays fast

    base = synth_options(args.difficulty)
    pitch = None
    if args.pitch_min is not None or args.pitch_max is not None:
        low, high = base.pitch_deg
        pitch = (
            args.pitch_min if args.pitch_min is not None else low,
            args.pitch_max if args.pitch_max is not None else high,
        )
    return synth_options(
        args.difficulty,
        targets_per_scene=args.targets_per_scene,
        distractors=args.distractors,
        similarity=args.distractor_similarity,
        pitch_deg=pitch,
        photometric=args.photometric,
        placement=args.placement,
        style=args.style,
        style_jitter=args.style_jitter,
        **more,
    )


def _options(args: argparse.Namespace) -> SynthOptions:
    return look_options(
        args, satellite_size=args.satellite_size, query_size=args.query_size, image_format=args.image_format
    )


def run(args: argparse.Namespace) -> int:
    from smgeo.synth import generate_dataset

    try:
        options = _options(args)
        if args.preview:
            from smgeo.synth.preview import preview

            print(f"wrote {preview(options, args.preview)}: every style, then draws of --style {options.style}")
            return 0
        scenes = {"train": args.scenes_train, "val": args.scenes_val, "test": args.scenes_test}
        start = time.perf_counter()
        manifest = generate_dataset(
            args.out,
            args.name,
            options,
            scenes,
            seed=args.seed,
            workers=args.workers,
            difficulty=args.difficulty,
            overwrite=args.overwrite,
            progress=not args.quiet,
        )
    except (ValueError, FileExistsError) as error:
        print(f"smgeo synth: error: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    pairs = sum(manifest["pairs"].values())
    print(
        f"wrote {pairs} pairs {manifest['pairs']} to {args.out}/{args.name} in {seconds:.1f} s "
        f"({seconds / max(pairs, 1):.3f} s per pair with {args.workers} worker(s))"
    )
    return 0
