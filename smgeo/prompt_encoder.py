"""Click prompt encoder: a click token from Fourier features and a dense Gaussian prior on the query grid."""

from __future__ import annotations

import math

import torch
from torch import nn

from smgeo.positional import FourierPositionEncoding, grid_centres


class ClickPromptEncoder(nn.Module):
    """Turns a click in query pixels into a token and a prior over the query's feature grid.

    The click token is the Fourier encoding of the click's normalised position ((x + 0.5) / W, (y + 0.5) / H)
    plus a learned "positive click" embedding, in the same coordinate frame as the query's grid encodings.
    The prior is a Gaussian around the click with sigma = `prior_sigma` x the image diagonal.
    """

    def __init__(self, dim: int, position: FourierPositionEncoding, prior_sigma: float) -> None:
        super().__init__()
        self.position = position
        self.prior_sigma = prior_sigma
        self.click_embed = nn.Parameter(torch.zeros(dim))
        self.prior_embed = nn.Parameter(torch.zeros(dim))
        nn.init.normal_(self.click_embed, std=0.02)
        nn.init.normal_(self.prior_embed, std=0.02)

    def normalise(self, click: torch.Tensor, image_hw: tuple[int, int]) -> torch.Tensor:
        """click: (B, 2) query pixels, x then y -> (B, 2) in [0, 1]."""
        height, width = image_hw
        scale = click.new_tensor([width, height])
        return (click.float() + 0.5) / scale

    def forward(
        self, click: torch.Tensor, image_hw: tuple[int, int], grid_hw: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """click: (B, 2) query pixels. Returns the click token (B, 1, dim) and the prior (B, h * w) in [0, 1]."""
        normalised = self.normalise(click, image_hw)
        token = self.position(normalised) + self.click_embed
        centres = grid_centres(*grid_hw, device=click.device)  # (h * w, 2)
        height, width = image_hw
        offset_px = (centres[None] - normalised[:, None]) * click.new_tensor([width, height]).float()
        sigma_px = self.prior_sigma * math.hypot(height, width)
        prior = torch.exp(-(offset_px**2).sum(-1) / (2.0 * sigma_px**2))
        return token[:, None], prior

    def dense_embedding(self, prior: torch.Tensor) -> torch.Tensor:
        """prior: (B, N) -> (B, N, dim), added to the query tokens so every token knows how near the click it is."""
        return prior[..., None] * self.prior_embed
