"""The CVOGL evaluation protocol (location-aware).

The top-1 box is compared in the 1024-pixel reference frame; the ground-truth box is clamped to
[0, frame - 1]; IoU is intersection over union in pixels (no +1); acc@t is the share of samples with
IoU > t (strict); mIoU is the mean IoU over all samples (misses count as 0); centre error in pixels.
Clicks in the query's outer band (farther than EDGE_BAND of the side from its centre on either axis: outside the
central half) are also scored on their own, since a person's click lands anywhere.
"""

from __future__ import annotations

import torch

from smgeo.boxes import box_centres, box_iou, clamp_boxes

THRESHOLDS = (0.25, 0.5)
EDGE_BAND = 0.25  # a click whose normalised x or y is below 0.25 or above 0.75 is an edge click


def sample_scores(pred_boxes: torch.Tensor, gt_boxes: torch.Tensor, frame_size: int = 1024) -> dict[str, torch.Tensor]:
    """pred_boxes, gt_boxes: (N, 4) in frame pixels. Returns per-sample IoU (N,) and centre error in pixels (N,)."""
    gt = clamp_boxes(gt_boxes.float(), 0.0, float(frame_size - 1))
    pred = pred_boxes.float()
    return {
        "iou": box_iou(pred, gt),
        "center_px": (box_centres(pred) - box_centres(gt)).norm(dim=-1),
    }


def summarize(iou: torch.Tensor, center_px: torch.Tensor) -> dict[str, float]:
    """Per-sample IoU and centre errors (N,) -> acc@0.25, acc@0.5, mIoU (all as fractions) and centre_px (mean)."""
    if iou.numel() == 0:
        raise ValueError("no samples to evaluate")
    metrics = {f"acc@{t}": (iou > t).float().mean().item() for t in THRESHOLDS}
    metrics["mIoU"] = iou.mean().item()
    metrics["center_px"] = center_px.mean().item()
    metrics["center_px_median"] = center_px.median().item()
    metrics["n"] = int(iou.numel())
    return metrics


def evaluate_boxes(pred_boxes: torch.Tensor, gt_boxes: torch.Tensor, frame_size: int = 1024) -> dict[str, float]:
    scores = sample_scores(pred_boxes, gt_boxes, frame_size)
    return summarize(scores["iou"], scores["center_px"])


def edge_clicks(clicks_nxy: torch.Tensor) -> torch.Tensor:
    """clicks_nxy: (N, 2) clicks as fractions of the query's width and height -> (N,) bool, in the outer band."""
    return (clicks_nxy - 0.5).abs().amax(dim=-1) > EDGE_BAND


def summarize_by_click(iou: torch.Tensor, center_px: torch.Tensor, clicks_nxy: torch.Tensor) -> dict[str, float]:
    """`summarize` over all samples, plus the same metrics over the samples clicked in the outer band, prefixed
    "edge_" (edge_acc@0.5, edge_n, ...; absent when there is none)."""
    metrics = summarize(iou, center_px)
    edge = edge_clicks(clicks_nxy)
    if edge.any():
        metrics.update({f"edge_{key}": value for key, value in summarize(iou[edge], center_px[edge]).items()})
    return metrics
