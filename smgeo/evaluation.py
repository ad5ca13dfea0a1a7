"""Evaluation with the CVOGL protocol over a data loader (one process or all DDP ranks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from smgeo.decode import decode_top_k
from smgeo.distributed import DistributedContext, gather_objects
from smgeo.metrics import sample_scores, summarize_by_click
from smgeo.model import SMGeo

# The precision checkpoints are selected and tested in: the Predictor's (fp32, no autocast). Validation during
# training uses it whatever the training precision, so the checkpoint kept is the best one as served.
SERVING_AUTOCAST = False


@torch.no_grad()
def predict_loader(
    model: SMGeo, loader: DataLoader, device: torch.device, autocast: bool = SERVING_AUTOCAST, progress: bool = False
) -> list[dict[str, Any]]:
    """Top-1 box of every sample, in the satellite frame: [{"index", "box", "score", "frame_box", "click_nxy"}]
    (click_nxy: the click as fractions of the query's width and height)."""
    model.eval()
    rows = []
    for batch in tqdm(loader, desc="eval", unit="batch", disable=not progress, dynamic_ncols=True):
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            outputs = model(batch["query"].to(device), batch["reference"].to(device), batch["click"].to(device))
        boxes, scores = decode_top_k(outputs["heatmap"], outputs["size"], outputs["offset"], outputs["stride"], 1)
        frame_boxes = (boxes[:, 0] * batch["to_frame"].to(device).float()).cpu()  # (B, 4) * (B, 4)
        query_wh = torch.tensor([batch["query"].shape[-1], batch["query"].shape[-2]], dtype=torch.float32)
        clicks_nxy = ((batch["click"].float() + 0.5) / query_wh).tolist()
        for i, index in enumerate(batch["index"].tolist()):
            rows.append(
                {
                    "index": index,
                    "box": frame_boxes[i].tolist(),
                    "score": scores[i, 0].item(),
                    "frame_box": batch["frame_box"][i].tolist(),
                    "click_nxy": clicks_nxy[i],
                }
            )
    return rows


def evaluate(
    model: SMGeo,
    loader: DataLoader,
    context: DistributedContext,
    frame_size: int = 1024,
    autocast: bool = SERVING_AUTOCAST,
    progress: bool = False,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Metrics over the whole split (every rank's share gathered, padding duplicates dropped) and the rows."""
    rows = gather_objects(predict_loader(model, loader, context.device, autocast, progress), context)
    unique = sorted({row["index"]: row for row in rows}.values(), key=lambda row: row["index"])
    pred = torch.tensor([row["box"] for row in unique])
    truth = torch.tensor([row["frame_box"] for row in unique])
    scores = sample_scores(pred, truth, frame_size)
    for row, iou in zip(unique, scores["iou"].tolist(), strict=True):
        row["iou"] = iou
    clicks_nxy = torch.tensor([row["click_nxy"] for row in unique])
    return summarize_by_click(scores["iou"], scores["center_px"], clicks_nxy), unique


def evaluate_checkpoint(
    checkpoint: str | Path,
    data_root: str | Path,
    data_name: str,
    split: str = "test",
    batch_size: int = 8,
    device: str | None = None,
    progress: bool = True,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Metrics of a checkpoint on one split, and one row per sample: {"id", "box", "score", "iou"}."""
    from smgeo.data.cvogl import CVOGLDataset
    from smgeo.data.transforms import build_transforms
    from smgeo.predictor import Predictor

    predictor = Predictor(checkpoint, device=device)
    config = predictor.config
    transform = build_transforms(config.model.query_size, config.model.reference_size, train=False)
    dataset = CVOGLDataset(data_root, data_name, split, transform=transform, frame_size=config.data.frame_size)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=config.data.num_workers)
    context = DistributedContext(0, 1, 0, predictor.device)
    metrics, rows = evaluate(predictor.model, loader, context, frame_size=config.data.frame_size, progress=progress)
    samples = [
        {"id": dataset.records[row["index"]].sample_id, "box": row["box"], "score": row["score"], "iou": row["iou"]}
        for row in rows
    ]
    return metrics, samples
