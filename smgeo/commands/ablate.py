"""`smgeo ablate`: train each ablation variant on the same data with the same budget, once per seed, evaluate every
run on the same held-out test sets, and write one JSON with each run's metrics, each variant's mean ± std over the
seeds, its parameter counts (total and active per token), the budget and the data.

Runs already trained are reused: `<out-dir>/<variant>/seed-<N>/model.pt`, or a checkpoint given with
`--reuse VARIANT=PATH` (seed 0's). A reused checkpoint must carry exactly the run's config (model, training budget,
data, seed), so every row of the table really had the same budget. The JSON is rewritten after each run and keeps
the runs recorded earlier with the same budget and data, so a long ablation can be run in parts
(`--variants dense_ffn --seeds 0`, later `--seeds 1,2`).
"""

from __future__ import annotations

import argparse
import json
import statistics
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
METRIC_KEYS = ("acc@0.25", "acc@0.5", "mIoU", "center_px", "n", "edge_acc@0.5", "edge_n")
SUMMARY_KEYS = ("acc@0.25", "acc@0.5", "mIoU", "edge_acc@0.5", "center_px")  # the table's columns
# Fields that may differ between runs of one variant without changing what was trained.
IGNORED_FIELDS = frozenset({"train.out_dir", "data.data_root", "data.num_workers"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--out-dir", default="runs/ablation", help="one sub-folder per variant and seed")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {list(VARIANTS)}")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds, e.g. 0,1,2 (default: 0)")
    parser.add_argument("--reuse", action="append", default=[], metavar="VARIANT=CHECKPOINT")
    parser.add_argument("--split", default="test", choices=["val", "test"])
    parser.add_argument(
        "--also-test",
        action="append",
        default=[],
        metavar="DATA_NAME",
        help="another dataset under --data-root to evaluate every run on (its --split), e.g. a hard one (repeat)",
    )
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


def parse_list(text: str, known: Any = None, what: str = "value") -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in items if known is not None and item not in known]
    if unknown or not items:
        raise SystemExit(f"unknown or no {what}(s) {unknown}; known: {list(known or [])}")
    return items


def config_differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Dotted names of the fields where a checkpoint's config differs from the variant's, with both values."""
    from smgeo.config import differing_fields

    differing = differing_fields(expected, found, IGNORED_FIELDS)
    return [f"{key}: expected {mine!r}, checkpoint has {theirs!r}" for key, mine, theirs in differing]


def run_config(base: Any, variant: str, seed: int, out_dir: str) -> Any:
    from smgeo.config import merge, parse_override

    config = base
    for text in VARIANTS[variant]:
        config = merge(config, parse_override(text))
    return merge(config, {"train": {"seed": seed, "out_dir": str(Path(out_dir) / variant / f"seed-{seed}")}})


def trained_checkpoint(config: Any, name: str, reused: Path | None, device: str | None) -> Path:
    """The run's model: a reused checkpoint with exactly this config, or a new training run."""
    from smgeo.checkpoint import load_checkpoint
    from smgeo.config import config_to_dict
    from smgeo.training import train

    checkpoint = reused or Path(config.train.out_dir) / "model.pt"
    if checkpoint.is_file():
        found = config_to_dict(load_checkpoint(checkpoint)["config"])
        differences = config_differences(config_to_dict(config), found)
        if differences:
            raise SystemExit(f"{checkpoint} was not trained as {name}: " + "; ".join(differences))
        print(f"[{name}] reusing {checkpoint}")
        return checkpoint
    print(f"[{name}] training into {config.train.out_dir}")
    result = train(config, device=device)
    if result.model_checkpoint is None:
        raise SystemExit(f"[{name}] training ended {result.status} without a model")
    return Path(result.model_checkpoint)


def run(args: argparse.Namespace) -> int:
    from smgeo.evaluation import evaluate_checkpoint

    variants = parse_list(args.variants, VARIANTS, "variant")
    seeds = [int(seed) for seed in parse_list(args.seeds, what="seed")]
    reuse = parse_reuse(args.reuse)
    base = config_from_args(args)
    if not base.data.data_root or not base.data.data_name:
        raise SystemExit("--data-root and --data-name are required")
    test_sets = [base.data.data_name, *args.also_test]
    budget = budget_of(base, args.config, args.set)
    data = {name: data_of(base.data.data_root, name, args.split) for name in test_sets}
    out = Path(args.out)
    results = recorded_results(out, budget, data)
    for variant in variants:
        counts = parameter_counts(run_config(base, variant, seeds[0], args.out_dir).model)  # the same for every seed
        for seed in seeds:
            config = run_config(base, variant, seed, args.out_dir)
            name = f"{variant} seed {seed}"
            checkpoint = trained_checkpoint(config, name, reuse.get(variant) if seed == 0 else None, args.device)
            row: dict[str, Any] = {"checkpoint": str(checkpoint)}
            for test in test_sets:
                metrics, _ = evaluate_checkpoint(checkpoint, base.data.data_root, test, args.split, device=args.device)
                row[test] = {key: metrics[key] for key in METRIC_KEYS if key in metrics}
                print(
                    f"[{name}] {test}: " + ", ".join(f"{k} {row[test][k]:.4f}" for k in SUMMARY_KEYS if k in row[test])
                )
            entry = results.setdefault(variant, {"runs": {}})
            entry["runs"][str(seed)] = row
            entry.update(counts)
            entry["summary"] = summarize_runs(entry["runs"], test_sets)
            write_results(out, results, budget, data, args.command_line)
    print(markdown_table(results, test_sets))
    print(f"wrote {out}")
    return 0


def write_results(
    out: Path, results: dict[str, Any], budget: dict[str, Any], data: dict[str, Any], command: str
) -> None:
    """`command`: the command line that wrote the file last (an ablation run in parts reuses the earlier runs)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    ordered = {key: results[key] for key in VARIANTS if key in results}
    out.write_text(json.dumps({**ordered, "budget": budget, "data": data, "command": command}, indent=2) + "\n")


def summarize_runs(runs: dict[str, Any], test_sets: list[str]) -> dict[str, Any]:
    """{test set: {metric: {"mean", "std", "seeds"}}} over the recorded seeds (std 0 with one seed)."""
    summary: dict[str, Any] = {}
    for test in test_sets:
        rows = [run[test] for run in runs.values() if test in run]
        summary[test] = {}
        for key in SUMMARY_KEYS:
            values = [row[key] for row in rows if key in row]
            if values:
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                summary[test][key] = {"mean": statistics.fmean(values), "std": std, "seeds": len(values)}
    return summary


def parameter_counts(model_config: Any) -> dict[str, int]:
    """Total parameters, and those active for one token (a sparse MoE layer runs top_k of its routed experts, and its
    shared expert if it has one)."""
    from smgeo.model import build_model
    from smgeo.moe import SparseMoE

    model = build_model(model_config)
    total = sum(p.numel() for p in model.parameters())
    inactive = 0
    for module in model.modules():
        if isinstance(module, SparseMoE):
            per_expert = sum(p.numel() for p in module.experts[0].parameters())
            inactive += (len(module.experts) - module.router.top_k) * per_expert
    return {"parameters": total, "active_parameters": total - inactive}


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
    """What every run shared: the schedule, the batch and the input sizes (each run's seed is its key). Variants
    train in one process, so the global batch is train.batch_size and effective_lr the peak learning rate they used."""
    from smgeo.data.cvogl import CVOGLDataset
    from smgeo.schedule import effective_lr

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
        "lr_at_batch_8": config.train.lr,
        "effective_lr": effective_lr(config.train.lr, config.train.batch_size),
        "query_size": list(config.model.query_size),
        "reference_size": config.model.reference_size,
        "selection": "best val acc@0.5",
    }


def data_of(data_root: str, data_name: str, split: str) -> dict[str, Any]:
    folder = Path(data_root) / data_name
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    keep = ("generator", "seed", "difficulty", "pairs", "scenes")
    return {"name": data_name, "evaluated_on": split, **{k: manifest[k] for k in keep if k in manifest}}


def markdown_table(results: dict[str, Any], test_sets: list[str]) -> str:
    """One row per variant and test set: mean ± std over the seeds of each metric."""
    columns = ["variant", "test set", "seeds", "active params", "acc@0.25", "acc@0.5", "mIoU", "edge-click acc@0.5"]
    columns.append("centre error (px)")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for variant in [key for key in VARIANTS if key in results]:
        entry = results[variant]
        for test in test_sets:
            summary = entry.get("summary", {}).get(test, {})
            if not summary:
                continue
            cells = [_mean_std(summary.get(key), 1 if key == "center_px" else 3) for key in SUMMARY_KEYS]
            seeds = summary["acc@0.5"]["seeds"]
            active = f"{entry.get('active_parameters', 0) / 1e6:.2f} M"
            lines.append(f"| {variant} | {test} | {seeds} | {active} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean_std(value: dict[str, float] | None, digits: int) -> str:
    if value is None:
        return "—"
    return f"{value['mean']:.{digits}f} ± {value['std']:.{digits}f}"
