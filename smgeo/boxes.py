"""Box arithmetic on (..., 4) tensors of x1, y1, x2, y2 in pixels (no +1: a box from 0 to 10 is 10 wide)."""

from __future__ import annotations

import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[..., 2] - boxes[..., 0]).clamp_min(0) * (boxes[..., 3] - boxes[..., 1]).clamp_min(0)


def _intersection_union(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    top_left = torch.maximum(a[..., :2], b[..., :2])
    bottom_right = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (bottom_right - top_left).clamp_min(0).prod(dim=-1)
    return inter, box_area(a) + box_area(b) - inter


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise IoU of aligned boxes (..., 4) -> (...); 0 where the union is empty."""
    inter, union = _intersection_union(a.float(), b.float())
    return torch.where(union > 0, inter / union.clamp_min(1e-12), torch.zeros_like(union))


def generalized_box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise GIoU of aligned boxes (..., 4) -> (...) in [-1, 1]."""
    a, b = a.float(), b.float()
    inter, union = _intersection_union(a, b)
    iou = inter / union.clamp_min(1e-12)
    enclosing = (torch.maximum(a[..., 2:], b[..., 2:]) - torch.minimum(a[..., :2], b[..., :2])).clamp_min(0)
    hull = enclosing.prod(dim=-1).clamp_min(1e-12)
    return iou - (hull - union) / hull


def clamp_boxes(boxes: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return boxes.clamp(min=low, max=high)


def box_centres(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) -> (..., 2) centre x, y."""
    return (boxes[..., :2] + boxes[..., 2:]) / 2
