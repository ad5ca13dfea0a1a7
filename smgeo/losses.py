"""Training losses: focal heatmap loss, L1 offset, L1 size + GIoU at the true centre, and the MoE aux terms.

The criterion returns a dict of named, unweighted losses plus "total" (their weighted sum); `weights` says how
each is weighted, so the training loop can log every term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from smgeo.boxes import generalized_box_iou
from smgeo.config import LossConfig
from smgeo.decode import box_at_cells, size_from_log


def focal_heatmap_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0
) -> torch.Tensor:
    """CornerNet/CenterNet focal loss in fp32, normalised by the number of positive cells (target == 1).

    logits: (B, 1, H, W); target: (B, 1, H, W) Gaussian bumps in [0, 1] with exact 1 at the centres."""
    logits, target = logits.float(), target.float()
    positive = target.eq(1).float()
    log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
    p = log_p.exp()
    pos_loss = -((1 - p) ** alpha) * log_p * positive
    neg_loss = -((1 - target) ** beta) * (p**alpha) * log_not_p * (1 - positive)
    return (pos_loss.sum() + neg_loss.sum()) / positive.sum().clamp_min(1.0)


def gaussian_radius(height: torch.Tensor, width: torch.Tensor, min_overlap: float = 0.7) -> torch.Tensor:
    """CenterNet's size-adaptive radius (in cells): the largest centre shift keeping IoU >= min_overlap."""
    b1, c1 = height + width, width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + torch.sqrt(b1**2 - 4 * c1)) / 2
    b2, c2 = 2 * (height + width), (1 - min_overlap) * width * height
    r2 = (b2 + torch.sqrt(b2**2 - 16 * c2)) / 2
    a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (height + width), (min_overlap - 1) * width * height
    r3 = (b3 + torch.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return torch.minimum(torch.minimum(r1, r2), r3).clamp_min(0)


def centre_cells(boxes: torch.Tensor, stride: int, grid_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """boxes (B, 4) input pixels -> integer centre cells x, y (B,), inside the grid."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2 / stride
    cell_x = centre[:, 0].floor().clamp(0, grid_hw[1] - 1)
    cell_y = centre[:, 1].floor().clamp(0, grid_hw[0] - 1)
    return cell_x.long(), cell_y.long()


def heatmap_targets(boxes: torch.Tensor, stride: int, grid_hw: tuple[int, int]) -> torch.Tensor:
    """One Gaussian per image at the box centre's cell, radius from the box size -> (B, 1, H, W)."""
    cell_x, cell_y = centre_cells(boxes, stride, grid_hw)
    box_w = (boxes[:, 2] - boxes[:, 0]) / stride
    box_h = (boxes[:, 3] - boxes[:, 1]) / stride
    sigma = (2 * gaussian_radius(box_h, box_w).floor() + 1) / 6
    ys = torch.arange(grid_hw[0], device=boxes.device, dtype=torch.float32)
    xs = torch.arange(grid_hw[1], device=boxes.device, dtype=torch.float32)
    dist2 = (ys[None, :, None] - cell_y[:, None, None]) ** 2 + (xs[None, None, :] - cell_x[:, None, None]) ** 2
    return torch.exp(-dist2 / (2 * sigma[:, None, None] ** 2)).unsqueeze(1)


def similarity_loss(similarity: torch.Tensor | None, boxes: torch.Tensor, stride: int) -> torch.Tensor:
    """Cross-entropy of the fusion's similarity map over all reference cells, the target's centre cell being the
    right answer: a direct lesson in telling the clicked object from its look-alikes. 0 without a query.

    similarity: (B, H, W) logits at `stride`; boxes: (B, 4) reference input pixels."""
    if similarity is None:
        return boxes.new_zeros(())
    cell_x, cell_y = centre_cells(boxes, stride, tuple(similarity.shape[-2:]))
    return F.cross_entropy(similarity.float().flatten(1), cell_y * similarity.shape[-1] + cell_x)


class SMGeoCriterion(nn.Module):
    def __init__(self, config: LossConfig) -> None:
        super().__init__()
        self.config = config

    def weights(self, step: int) -> dict[str, float]:
        c = self.config
        ramp = min(1.0, step / c.moe_entropy_warmup_steps) if c.moe_entropy_warmup_steps > 0 else 1.0
        return {
            "heatmap": c.heatmap,
            "offset": c.offset,
            "size": c.size,
            "giou": c.giou,
            "moe_balance": c.moe_balance,
            "moe_z": c.moe_z,
            "moe_entropy": c.moe_entropy * ramp,
            "similarity": c.similarity,
        }

    def forward(self, outputs: dict, boxes: torch.Tensor, step: int = 0) -> dict[str, torch.Tensor]:
        """outputs: the model's dict; boxes: (B, 4) ground truth in reference input pixels."""
        stride, grid_hw = outputs["stride"], tuple(outputs["heatmap"].shape[-2:])
        boxes = boxes.float()
        cell_x, cell_y = centre_cells(boxes, stride, grid_hw)
        losses = {
            "heatmap": focal_heatmap_loss(
                outputs["heatmap"],
                heatmap_targets(boxes, stride, grid_hw),
                self.config.focal_alpha,
                self.config.focal_beta,
            )
        }
        losses.update(self._box_losses(outputs, boxes, cell_x, cell_y, stride))
        losses.update(self._moe_losses(outputs["aux"], boxes))
        losses["similarity"] = similarity_loss(outputs.get("similarity"), boxes, outputs.get("similarity_stride", 16))
        weights = self.weights(step)
        losses["total"] = sum(weights[name] * value for name, value in losses.items())
        return losses

    def _box_losses(
        self, outputs: dict, boxes: torch.Tensor, cell_x: torch.Tensor, cell_y: torch.Tensor, stride: int
    ) -> dict[str, torch.Tensor]:
        width = outputs["size"].shape[-1]
        flat = (cell_y * width + cell_x)[:, None, None].expand(-1, 2, 1)
        pred_offset = outputs["offset"].float().flatten(2).gather(2, flat)[..., 0]  # (B, 2)
        pred_log_size = outputs["size"].float().flatten(2).gather(2, flat)[..., 0]
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2 / stride
        true_offset = centre - torch.stack([cell_x, cell_y], dim=1).float()
        true_size = ((boxes[:, 2:] - boxes[:, :2]) / stride).clamp_min(1e-3)
        decoded = box_at_cells(cell_x[:, None], cell_y[:, None], outputs["size"], outputs["offset"], stride)[:, 0]
        return {
            "offset": F.l1_loss(pred_offset, true_offset),
            "size": F.l1_loss(size_from_log(pred_log_size), true_size),
            "giou": (1 - generalized_box_iou(decoded, boxes)).mean(),
        }

    def _moe_losses(self, aux: list[dict], like: torch.Tensor) -> dict[str, torch.Tensor]:
        zero = like.new_zeros(())
        if not aux:
            return {"moe_balance": zero, "moe_z": zero, "moe_entropy": zero}
        return {
            "moe_balance": sum(layer["balance"] for layer in aux) / len(aux),
            "moe_z": sum(layer["z"] for layer in aux) / len(aux),
            "moe_entropy": sum(layer["entropy"] for layer in aux) / len(aux),
        }


def build_criterion(config: LossConfig) -> SMGeoCriterion:
    return SMGeoCriterion(config)
