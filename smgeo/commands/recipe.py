"""`smgeo recipe`: the fine-tune recipe's development design. Each candidate recipe fine-tunes one checkpoint on the
first N labels of a dataset (train and val cut from its splits: `smgeo.recipe_study`), then base and candidate are
measured on the dataset's whole test split, label by label. Writes one JSON, rewritten after every run and keeping
the runs recorded before with the same recipe, so a long study can be run in parts.

Example: `smgeo recipe --init-from checkpoints/smgeo-tiny-synthetic.pt --data-root /work/devdata --data-name DevShiftA
--labels 100 --candidates before,recipe --out docs/results/finetune_recipe.json`
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SUMMARY_KEYS = ("acc@0.5", "acc@0.25", "mIoU", "center_px_median", "n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from smgeo.recipe_study import CANDIDATES

    parser.add_argument("--init-from", required=True, help="the checkpoint every candidate fine-tunes")
    parser.add_argument("--data-root", required=True, help="folder holding the dataset")
    parser.add_argument("--data-name", required=True, help="a CVOGL-layout dataset with train, val and test splits")
    parser.add_argument("--labels", default="100", help="comma-separated label counts N (train + val), e.g. 25,100")
    parser.add_argument("--candidates", default="before,recipe", help=f"comma-separated, of {list(CANDIDATES)}")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds (default: 0)")
    parser.add_argument("--wise", default="", help="comma-separated WiSE-FT weights to try on each run, e.g. 0.5")
    parser.add_argument("--replay-data", help="ROOT:NAME of the base model's own data (replay draws its train split)")
    parser.add_argument(
        "--forgetting-data", help="ROOT:NAME of the base model's domain: base and each candidate on its test split"
    )
    parser.add_argument("--work-dir", default="runs/recipe", help="one folder per run")
    parser.add_argument("--out", default="docs/results/finetune_recipe.json")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")


def run(args: argparse.Namespace) -> int:
    from smgeo.commands.ablate import parse_list
    from smgeo.data.replay import Replay
    from smgeo.recipe_study import CANDIDATES, paired, replay_share, run_candidate, study_dataset

    candidates = parse_list(args.candidates, CANDIDATES, "candidate")
    replay_data = root_and_name(args.replay_data, "--replay-data") if args.replay_data else None
    if replay_data is None and any(replay_share(name) for name in candidates):
        raise SystemExit("smgeo recipe: replay candidates need --replay-data ROOT:NAME (the base model's own data)")
    forgetting = root_and_name(args.forgetting_data, "--forgetting-data") if args.forgetting_data else None
    seeds = [int(seed) for seed in parse_list(args.seeds, what="seed")]
    out = Path(args.out)
    result = json.loads(out.read_text()) if out.is_file() else {}
    result.update(command=args.command_line, design=design_of(args))
    for labels in (int(n) for n in parse_list(args.labels, what="label count")):
        view = study_dataset(args.data_root, args.data_name, labels)
        point = result.setdefault("labels", {}).setdefault(str(labels), {"candidates": {}})
        base_metrics, base_iou = measure(args.init_from, args.data_root, view, args.device)
        point.update(dataset=view, base={key: base_metrics[key] for key in SUMMARY_KEYS})
        base_domain = measure(args.init_from, *forgetting, args.device) if forgetting else None
        for name in candidates:
            share = replay_share(name)
            replay = Replay(*replay_data, share, seed=labels) if share and replay_data else None
            trained_on = study_dataset(args.data_root, args.data_name, labels, replay=replay) if replay else view
            for seed in seeds:
                runs = point["candidates"].setdefault(name, {})
                if str(seed) in runs:
                    print(f"[N={labels} {name} seed {seed}] recorded: {runs[str(seed)]['test']}")
                    continue
                work = Path(args.work_dir) / view / name / f"seed-{seed}"
                row = run_candidate(args.init_from, args.data_root, trained_on, name, work, seed, args.device)
                metrics, iou = measure(row["checkpoint"], args.data_root, view, args.device)
                row.update(test={key: metrics[key] for key in SUMMARY_KEYS}, paired=paired(base_iou, iou))
                if base_domain:
                    after = measure(row["checkpoint"], *forgetting, args.device)
                    row["forgetting"] = forgetting_row(base_domain, after)
                if args.wise:
                    row["wise"] = wise_rows(args, row["checkpoint"], view, base_iou, work)
                runs[str(seed)] = row
                print(f"[N={labels} {name} seed {seed}] {row['summary']}; test {row['test']}; {row['paired']}")
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(result, indent=2) + "\n")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(table(result), indent=2))
    return 0


def measure(checkpoint: str | Path, root: str, view: str, device: str | None) -> tuple[dict, dict[Any, float]]:
    from smgeo.evaluation import evaluate_checkpoint

    metrics, samples = evaluate_checkpoint(checkpoint, root, view, "test", device=device, progress=False)
    return metrics, {sample["id"]: sample["iou"] for sample in samples}


def root_and_name(text: str, flag: str) -> tuple[str, str]:
    root, sep, name = text.rpartition(":")
    if not sep or not (Path(root) / name).is_dir():
        raise SystemExit(f"smgeo recipe: {flag} {text!r} is not ROOT:NAME of a dataset folder")
    return root, name


def forgetting_row(base: tuple[dict, dict], new: tuple[dict, dict]) -> dict[str, Any]:
    """What a candidate lost on the base model's domain: acc@0.5 before and after, and label by label."""
    from smgeo.recipe_study import paired

    return {"n": base[0]["n"], "base": base[0]["acc@0.5"], "new": new[0]["acc@0.5"],
            "lost": base[0]["acc@0.5"] - new[0]["acc@0.5"], "paired": paired(base[1], new[1])}  # fmt: skip


def wise_rows(args: argparse.Namespace, checkpoint: str, view: str, base_iou: dict, work: Path) -> dict[str, Any]:
    """The kept fine-tuned weights interpolated with the base (WiSE-FT), each weight measured on test."""
    from smgeo.recipe_study import paired
    from smgeo.weight_averaging import interpolate_checkpoints

    rows = {}
    for weight in (float(w) for w in args.wise.split(",") if w.strip()):
        mixed = interpolate_checkpoints(args.init_from, checkpoint, weight, work / f"wise-{weight:g}.pt")
        metrics, iou = measure(mixed, args.data_root, view, args.device)
        rows[f"{weight:g}"] = {"test": {key: metrics[key] for key in SUMMARY_KEYS}, "paired": paired(base_iou, iou)}
    return rows


def design_of(args: argparse.Namespace) -> dict[str, Any]:
    manifest = Path(args.data_root) / args.data_name / "manifest.json"
    generator = json.loads(manifest.read_text()) if manifest.is_file() else None
    keep = ("generator", "seed", "difficulty", "options", "pairs")
    return {
        "init_from": args.init_from, "data": args.data_name,
        "generator": {key: generator[key] for key in keep if key in generator} if generator else "not a synth dataset",
        "labels": "the first N pairs: 12 % of them val (at least one), the rest train; test: the whole test split",
    }  # fmt: skip


def table(result: dict[str, Any]) -> dict[str, Any]:
    """Per label count and candidate: test acc@0.5 (mean over seeds), the paired gain over the base, what was kept."""
    rows = {}
    for labels, point in result.get("labels", {}).items():
        rows[labels] = {"base": point["base"]["acc@0.5"]}
        for name, runs in point["candidates"].items():
            seeds = list(runs.values())
            rows[labels][name] = {
                "acc@0.5": sum(r["test"]["acc@0.5"] for r in seeds) / len(seeds),
                "gain": sum(r["paired"]["gain_acc@0.5"] for r in seeds) / len(seeds),
                "kept": [r["kept"] for r in seeds], "minutes": [r["minutes"] for r in seeds],
                "lost": [r["forgetting"]["lost"] for r in seeds if "forgetting" in r],
            }  # fmt: skip
    return rows
