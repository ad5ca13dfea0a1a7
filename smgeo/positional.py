"""Random Fourier position encoding (as in Segment Anything) shared by clicks and grid tokens."""

from __future__ import annotations

import math

import torch
from torch import nn


class FourierPositionEncoding(nn.Module):
    """Encodes normalised coordinates (x, y) in [0, 1] as [sin, cos] of a fixed random projection."""

    def __init__(self, dim: int, scale: float = 1.0) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"position encoding dim must be even, got {dim}")
        self.register_buffer("gaussian", scale * torch.randn(2, dim // 2), persistent=True)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """coords: (..., 2) normalised x then y -> (..., dim)."""
        projected = (2.0 * coords.float() - 1.0) @ self.gaussian * (2.0 * math.pi)
        return torch.cat([projected.sin(), projected.cos()], dim=-1)

    def grid(self, height: int, width: int) -> torch.Tensor:
        """Encodings of the cell centres of a height x width grid -> (height * width, dim), row-major."""
        return self.forward(grid_centres(height, width, self.gaussian.device))


def grid_centres(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """Normalised (x, y) of the centres of a height x width grid, row-major -> (height * width, 2)."""
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1).reshape(-1, 2)
