"""`smgeo ablate`: train each ablation variant on the same data with the same budget and seeds, evaluate them
on one held-out split, and write one JSON with every variant's metrics, the budget and the data.

Variants already trained are reused: `<out-dir>/<variant>/model.pt`, or a checkpoint given with
`--reuse VARIANT=PATH`. A reused checkpoint must carry exactly the variant's config (model, training budget,
data), so every row of the table really had the same budget. The JSON is rewritten after each variant and
keeps the variants recorded earlier with the same budget and data, so a long ablation can be run in parts
(`--variants dense_ffn`, later `--variants shared_router`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from smgeo.commands.common import add_config_arguments, config_from_args

# variant -> the config overrides that make it, on top of the shared config
VARIANTS: dict[str, list[str]] = {
    "full": [],
    "dense_ffn": ["model.moe.ffn=dense"],
    "shared_router": ["model.moe.router=shared"],
    "query_agnostic": ["model.query_agnostic=true"],
}
METRIC_KEYS = ("acc@0.25", "acc@0.5", "mIoU", "center_px")
# Fields that may differ between runs of one variant without changing what was trained.
IGNORED_FIELDS = {("train", "out_dir"), ("data", "data_root"), ("data", "num_workers")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--out-dir", default="runs/ablation", help="one sub-folder per variant")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {list(VARIANTS)}")
    parser.add_argument("--reuse", action="append", default=[], metavar="VARIANT=CHECKPOINT")
    parser.add_argument("--split", default="test", choices=["val", "test"])
    parser.add_argument("--out", default="docs/results/synthetic_ablation.json")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")


def parse_reuse(items: list[str]) -> dict[str, Path]:
    reuse = {}
    for item in items:
        variant, sep, path = item.partition("=")
        if not sep or variant not in VARIANTS:
            raise SystemExit(f"--reuse must be VARIANT=CHECKPOINT with VARIANT in {list(VARIANTS)}, got {item!r}")
        reuse[variant] = Path(path)
    return reuse


def config_differences(expected: dict[str, Any], found: dict[str, Any], path: tuple[str, ...] = ()) -> list[str]:
    """Dotted names of the fields where a checkpoint's config differs from the variant's."""
    differences = []
    for key in sorted(set(expected) | set(found)):
        where = (*path, key)
        if where[:2] in IGNORED_FIELDS:
            continue
        mine, theirs = expected.get(key), found.get(key)
        if isinstance(mine, dict) and isinstance(theirs, dict):
            differences += config_differences(mine, theirs, where)
        elif mine != theirs:
            differences.append(f"{'.'.join(where)}: expected {mine!r}, checkpoint has {theirs!r}")
    return differences


def run(args: argparse.Namespace) -> int:
    from smgeo.checkpoint import load_checkpoint
    from smgeo.config import config_to_dict, merge, parse_override
    from smgeo.evaluation import evaluate_checkpoint
    from smgeo.training import train

    variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; known: {list(VARIANTS)}")
    reuse = parse_reuse(args.reuse)
    base = config_from_args(args)
    if not base.data.data_root or not base.data.data_name:
        raise SystemExit("--data-root and --data-name are required")
    budget, data = budget_of(base, args.config, args.set), data_of(base, args.split)
    out = Path(args.out)
    results = recorded_results(out, budget, data)
    for name in variants:
        config = base
        for text in VARIANTS[name]:
            config = merge(config, parse_override(text))
        config = merge(config, {"train": {"out_dir": str(Path(args.out_dir) / name)}})
        checkpoint = reuse.get(name, Path(config.train.out_dir) / "model.pt")
        if checkpoint.is_file():
            found = config_to_dict(load_checkpoint(checkpoint)["config"])
            differences = config_differences(config_to_dict(config), found)
            if differences:
                raise SystemExit(f"{checkpoint} was not trained as variant {name!r}: " + "; ".join(differences))
            print(f"[{name}] reusing {checkpoint}")
        else:
            print(f"[{name}] training into {config.train.out_dir} ({' '.join(VARIANTS[name]) or 'the full model'})")
            result = train(config, device=args.device)
            if result.model_checkpoint is None:
                raise SystemExit(f"[{name}] training ended {result.status} without a model")
            checkpoint = Path(result.model_checkpoint)
        metrics, _ = evaluate_checkpoint(checkpoint, base.data.data_root, base.data.data_name, args.split)
        results[name] = {key: metrics[key] for key in METRIC_KEYS} | {"checkpoint": str(checkpoint)}
        print(f"[{name}] " + ", ".join(f"{key} {metrics[key]:.4f}" for key in METRIC_KEYS))
        out.parent.mkdir(parents=True, exist_ok=True)
        ordered = {key: results[key] for key in VARIANTS if key in results}
        out.write_text(json.dumps({**ordered, "budget": budget, "data": data}, indent=2) + "\n")
    print(markdown_table(results))
    print(f"wrote {out}")
    return 0


def recorded_results(out: Path, budget: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Variants already in `out` with this very budget and data; none when either differs."""
    if not out.is_file():
        return {}
    recorded = json.loads(out.read_text())
    if recorded.get("budget") != budget or recorded.get("data") != data:
        print(f"{out} holds results of another budget or dataset: they are replaced")
        return {}
    return {key: value for key, value in recorded.items() if key in VARIANTS}


def budget_of(config: Any, config_name: str, overrides: list[str]) -> dict[str, Any]:
    """What every variant shared: the schedule, the batch, the seed and the input sizes."""
    from smgeo.data.cvogl import CVOGLDataset

    train_pairs = len(CVOGLDataset(config.data.data_root, config.data.data_name, "train"))
    steps = -(-train_pairs // config.train.batch_size) * config.train.epochs
    if config.train.max_steps is not None:
        steps = min(steps, config.train.max_steps)
    return {
        "config": config_name,
        "overrides": list(overrides),
        "epochs": config.train.epochs,
        "batch_size": config.train.batch_size,
        "optimizer_steps": steps,
        "lr": config.train.lr,
        "seed": config.train.seed,
        "query_size": list(config.model.query_size),
        "reference_size": config.model.reference_size,
        "selection": "best val acc@0.5",
    }


def data_of(config: Any, split: str) -> dict[str, Any]:
    folder = Path(config.data.data_root) / config.data.data_name
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    keep = ("generator", "seed", "difficulty", "pairs", "scenes")
    return {"name": config.data.data_name, "evaluated_on": split, **{k: manifest[k] for k in keep if k in manifest}}


def markdown_table(results: dict[str, Any]) -> str:
    lines = ["| variant | acc@0.25 | acc@0.5 | mIoU | centre error (px) |", "|---|---|---|---|---|"]
    for name in [key for key in VARIANTS if key in results]:
        row = results[name]
        lines.append(
            f"| {name} | {row['acc@0.25']:.3f} | {row['acc@0.5']:.3f} | {row['mIoU']:.3f} | {row['center_px']:.1f} |"
        )
    return "\n".join(lines)
