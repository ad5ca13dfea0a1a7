"""`smgeo card`: a model card for one checkpoint — its held-out metrics on each given test set (with n, the edge-click
share scored on its own, the data's generator settings), its result on a synthetic field mission, its size and
training budget — written as one JSON.

Example: `smgeo card --checkpoint checkpoints/smgeo-tiny-synthetic.pt --data data:SynthDroneAerial:test
--data data:SynthHard:test --mission var/demo-mission --out docs/results/demo_model.json`
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", action="append", default=[], metavar="ROOT:NAME:SPLIT", help="a test set (repeat)")
    parser.add_argument("--mission", help="a folder written by `smgeo mission`")
    parser.add_argument("--reproduce", action="append", default=[], metavar="COMMAND", help="a command to record")
    parser.add_argument("--out", required=True, help="the JSON to write")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")


def run(args: argparse.Namespace) -> int:
    from smgeo.checkpoint import file_sha256, load_checkpoint
    from smgeo.config import config_to_dict
    from smgeo.evaluation import evaluate_checkpoint
    from smgeo.mission_eval import evaluate_mission
    from smgeo.predictor import Predictor

    checkpoint = Path(args.checkpoint)
    payload = load_checkpoint(checkpoint)
    card: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "sha256": file_sha256(checkpoint),
        "size_mb": round(checkpoint.stat().st_size / 2**20, 2),
        "trained": {key: payload[key] for key in ("epoch", "step", "metrics") if key in payload},
        "config": config_to_dict(payload["config"]),
        "test_sets": {},
    }
    for spec in args.data:
        root, name, split = _data_spec(spec)
        metrics, _ = evaluate_checkpoint(checkpoint, root, name, split, device=args.device)
        card["test_sets"][f"{name}:{split}"] = {"metrics": metrics, "data": _manifest(Path(root) / name)}
        print(f"{name}:{split} " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if "acc@0.5" in k))
    if args.mission:
        card["mission"] = evaluate_mission(Predictor(checkpoint, device=args.device), args.mission)
        card["mission"]["folder"] = args.mission
        print("mission IoUs: " + ", ".join(f"{p['iou']:.2f}" for p in card["mission"]["photos"]))
    card["reproduce"] = list(args.reproduce)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def _data_spec(spec: str) -> tuple[str, str, str]:
    parts = spec.rsplit(":", 2)
    if len(parts) != 3 or parts[2] not in ("train", "val", "test"):
        raise SystemExit(f"--data must be ROOT:NAME:SPLIT with SPLIT train, val or test; got {spec!r}")
    return parts[0], parts[1], parts[2]


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    keep = ("generator", "seed", "difficulty", "pairs", "scenes", "options")
    return {key: manifest[key] for key in keep if key in manifest}
