"""Anchor-free localization head (CenterNet-style) on the reference grid."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from smgeo.attention import WindowAttention
from smgeo.moe import FeedForward

HEATMAP_PRIOR_BIAS = -2.19  # sigmoid(-2.19) = 0.1: the focal loss starts stable (CenterNet)


class HeadLayer(nn.Module):
    """A light windowed transformer layer that refines the fused reference grid before the conv branches."""

    def __init__(self, dim: int, num_heads: int, window: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attention = WindowAttention(dim, num_heads, window)
        self.ffn = FeedForward(dim, 2 * dim)

    def forward(self, tokens: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        tokens = tokens + self.attention(self.norm1(tokens), hw, None)
        return tokens + self.ffn(self.norm2(tokens))


def conv_branch(hidden: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(hidden, out_channels, 1)
    )


class LocalizationHead(nn.Module):
    """Heatmap (1 channel, logits), size (log of width and height in output cells) and sub-cell offset (0..1).

    At stride 8 the stride-16 grid is upsampled and joined with the backbone's stride-8 reference features."""

    def __init__(
        self, dim: int, hidden: int, stride: int, num_layers: int, num_heads: int, window: int, skip_channels: int
    ) -> None:
        super().__init__()
        if stride not in (8, 16):
            raise ValueError(f"model.head.stride must be 8 or 16, got {stride}")
        self.stride = stride
        self.layers = nn.ModuleList(HeadLayer(dim, num_heads, window) for _ in range(num_layers))
        self.skip = nn.Conv2d(skip_channels, dim, 1) if stride == 8 else None
        self.trunk = nn.Sequential(nn.Conv2d(dim, hidden, 3, padding=1), nn.ReLU(inplace=True))
        self.heatmap = conv_branch(hidden, 1)
        self.size = conv_branch(hidden, 2)
        self.offset = conv_branch(hidden, 2)
        nn.init.constant_(self.heatmap[-1].bias, HEATMAP_PRIOR_BIAS)
        self.match_gain = nn.Parameter(torch.tensor(0.5))

    def forward(
        self, tokens: torch.Tensor, hw: tuple[int, int], skip: torch.Tensor, match: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """tokens: (B, H * W, C) stride-16 grid; skip: (B, C8, 2H, 2W) stride-8 backbone features; match: (B, H, W)
        similarity logits of each cell to the clicked object, added to the heatmap logits (times a learned gain,
        after removing each image's mean) so that what matches the query is what the heatmap finds.

        Returns heatmap (B, 1, H', W') logits, size (B, 2, H', W') log-cells, offset (B, 2, H', W') in [0, 1]."""
        for layer in self.layers:
            tokens = layer(tokens, hw)
        grid = tokens.transpose(1, 2).reshape(tokens.shape[0], -1, *hw)
        if self.skip is not None:
            grid = F.interpolate(grid, size=skip.shape[-2:], mode="bilinear", align_corners=False) + self.skip(skip)
        trunk = self.trunk(grid)
        heatmap = self.heatmap(trunk)
        if match is not None:
            centred = (match - match.mean(dim=(1, 2), keepdim=True))[:, None]
            heatmap = heatmap + self.match_gain * F.interpolate(centred, size=heatmap.shape[-2:], mode="nearest")
        return {"heatmap": heatmap, "size": self.size(trunk), "offset": self.offset(trunk).sigmoid()}
