"""Decoding the head's maps into boxes: 3x3 peak picking, top-K peaks, one box per peak, all in fp32."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# The head's sizes are log-cells; they are clamped to this range before exp(), so a diverging size channel gives
# huge but finite boxes and losses (exp(200) is inf even in fp32). e^-4 cells is under a pixel at stride 8;
# e^8 ~ 3,000 cells is ~20 times the largest reference grid.
LOG_SIZE_RANGE = (-4.0, 8.0)


def size_from_log(log_size: torch.Tensor) -> torch.Tensor:
    """Log-cells (any shape) -> cells, in fp32, clamped to LOG_SIZE_RANGE first."""
    return log_size.float().clamp(*LOG_SIZE_RANGE).exp()


def box_at_cells(
    cells_x: torch.Tensor, cells_y: torch.Tensor, size: torch.Tensor, offset: torch.Tensor, stride: int
) -> torch.Tensor:
    """The boxes the head predicts at the given cells.

    cells_x, cells_y: (B, K) integer cell indices; size: (B, 2, H, W) log-cells; offset: (B, 2, H, W).
    Returns (B, K, 4) boxes x1, y1, x2, y2 in input pixels."""
    width = size.shape[-1]
    flat = (cells_y * width + cells_x).long()
    gathered_size = size_from_log(size.flatten(2).gather(2, flat[:, None].expand(-1, 2, -1))) * stride  # (B, 2, K)
    gathered_offset = offset.float().flatten(2).gather(2, flat[:, None].expand(-1, 2, -1))
    centre_x = (cells_x.float() + gathered_offset[:, 0]) * stride
    centre_y = (cells_y.float() + gathered_offset[:, 1]) * stride
    half_w, half_h = gathered_size[:, 0] / 2, gathered_size[:, 1] / 2
    return torch.stack([centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], dim=-1)


def decode_top_k(
    heatmap: torch.Tensor, size: torch.Tensor, offset: torch.Tensor, stride: int, top_k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """heatmap: (B, 1, H, W) logits. Returns boxes (B, K, 4) in input pixels and scores (B, K), best first.

    A peak is a cell whose probability is the maximum of its 3x3 neighbourhood."""
    probs = heatmap.float().sigmoid()
    peaks = probs * (F.max_pool2d(probs, 3, stride=1, padding=1) == probs)
    width = probs.shape[-1]
    scores, flat = peaks.flatten(1).topk(min(top_k, peaks[0].numel()), dim=1)
    boxes = box_at_cells(flat % width, flat // width, size, offset, stride)
    return boxes, scores
