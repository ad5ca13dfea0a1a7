"""`smgeo visualize`: for samples of a CVOGL-layout split, write `<id>-prediction.png` (query + click,
reference with the ground truth and the top-K boxes, heatmap overlay) and `<id>-experts.png` (expert-activation
maps per MoE layer and per view)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data-root", required=True, help="folder holding the dataset folder")
    parser.add_argument("--data-name", required=True, help="dataset folder name")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--index", type=int, action="append", help="sample index in the split (repeatable; default 0)")
    parser.add_argument("--out-dir", default="visualizations")
    parser.add_argument("--dpi", type=int, default=90)
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")


def run(args: argparse.Namespace) -> int:
    import torch

    from smgeo.data.cvogl import CVOGLDataset
    from smgeo.metrics import sample_scores
    from smgeo.predictor import Predictor
    from smgeo.visualize import expert_usage, experts_figure, inspect, prediction_figure

    predictor = Predictor(args.checkpoint, device=args.device)
    dataset = CVOGLDataset(args.data_root, args.data_name, args.split)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for index in args.index or [0]:
        if not 0 <= index < len(dataset):
            raise SystemExit(f"--index {index} is outside the {len(dataset)} samples of {args.split}")
        raw = dataset.raw_sample(index)
        sample_id = dataset.records[index].sample_id
        item = inspect(predictor, raw["query"], raw["reference"], raw["click"], list(raw["box"]))
        width, height = raw["reference"].size
        to_frame = torch.tensor([width, height, width, height]).reciprocal() * dataset.frame_size
        pair = torch.tensor([item.boxes[0], item.truth]) * to_frame
        iou = sample_scores(pair[:1], pair[1:], dataset.frame_size)["iou"].item()
        item.title = f"{args.data_name} {args.split} #{index} ({sample_id}) · IoU {iou:.2f}"
        written = {"id": sample_id, "iou": round(iou, 4), "score": round(item.scores[0], 4)}
        path = out_dir / f"{args.split}-{index}-prediction.png"
        prediction_figure(item).savefig(path, dpi=args.dpi)
        written["prediction"] = str(path)
        if item.choices:
            path = out_dir / f"{args.split}-{index}-experts.png"
            experts_figure(item).savefig(path, dpi=args.dpi)
            written["experts"] = str(path)
            written["expert_usage"] = expert_usage(item)
        print(json.dumps(written))
    return 0
