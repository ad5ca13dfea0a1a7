"""GMoE cross-view encoder over grid tokens of both views at two scales.

Each view contributes stride-16 ("fine") and stride-32 ("coarse") tokens. Every layer does
1. intra-view self-attention: windowed on the reference's fine grid (each window also sees the reference's
   coarse tokens), full on the reference's coarse grid, full on the query's tokens;
2. inter-view cross-attention: reference tokens attend to the query tokens and the click token; query
   tokens attend back to the reference's coarse tokens;
3. a grid-level sparse MoE FFN over all tokens, routed by source view and scale.
With `query_agnostic`, steps 1-3 run on the reference alone (the ablation that ignores the query).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from smgeo.attention import Attention, WindowAttention
from smgeo.config import MoEConfig
from smgeo.moe import DenseFFN, SparseMoE

DRONE, SATELLITE = 0, 1  # source ids the routers see
FINE, COARSE = 0, 1  # scale ids the routers see


@dataclass
class ViewTokens:
    """Tokens of both views between encoder layers (C = encoder dim)."""

    ref_fine: torch.Tensor  # (B, Hf * Wf, C)
    ref_coarse: torch.Tensor  # (B, Hc * Wc, C)
    ref_fine_hw: tuple[int, int]
    ref_coarse_hw: tuple[int, int]
    query: torch.Tensor | None = None  # (B, Nq, C): the query's fine tokens, then its coarse ones
    query_fine_hw: tuple[int, int] = (0, 0)
    query_coarse_hw: tuple[int, int] = (0, 0)
    click: torch.Tensor | None = None  # (B, 1, C)

    def segments(self) -> list[tuple[str, int, int, int, tuple[int, int]]]:
        """(name, source, scale, length, hw) of each token group, in the order the MoE sees them."""
        groups = [
            ("reference_fine", SATELLITE, FINE, self.ref_fine.shape[1], self.ref_fine_hw),
            ("reference_coarse", SATELLITE, COARSE, self.ref_coarse.shape[1], self.ref_coarse_hw),
        ]
        if self.query is not None:
            fine = self.query_fine_hw[0] * self.query_fine_hw[1]
            groups.append(("query_fine", DRONE, FINE, fine, self.query_fine_hw))
            groups.append(("query_coarse", DRONE, COARSE, self.query.shape[1] - fine, self.query_coarse_hw))
        return groups


class GMoELayer(nn.Module):
    def __init__(
        self,
        dim: int,
        num_heads: int,
        window: int,
        ffn: SparseMoE | DenseFFN,
        dropout: float = 0.0,
        query_agnostic: bool = False,
    ) -> None:
        super().__init__()
        self.query_agnostic = query_agnostic
        self.norm_ref_fine, self.norm_ref_coarse = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ref_window_attn = WindowAttention(dim, num_heads, window, dropout)
        self.ref_coarse_attn = Attention(dim, num_heads, dropout)
        if not query_agnostic:
            self.norm_query, self.norm_ref_cross, self.norm_query_cross = (nn.LayerNorm(dim) for _ in range(3))
            self.query_attn = Attention(dim, num_heads, dropout)
            self.ref_cross_attn = Attention(dim, num_heads, dropout)
            self.query_cross_attn = Attention(dim, num_heads, dropout)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = ffn

    def forward(self, tokens: ViewTokens) -> tuple[ViewTokens, dict[str, torch.Tensor]]:
        tokens = self._intra_view(tokens)
        if not self.query_agnostic:
            tokens = self._inter_view(tokens)
        return self._experts(tokens)

    def _intra_view(self, t: ViewTokens) -> ViewTokens:
        coarse_normed = self.norm_ref_coarse(t.ref_coarse)
        ref_fine = t.ref_fine + self.ref_window_attn(self.norm_ref_fine(t.ref_fine), t.ref_fine_hw, coarse_normed)
        ref_coarse = t.ref_coarse + self.ref_coarse_attn(coarse_normed)
        query = t.query
        if query is not None:
            query = query + self.query_attn(self.norm_query(query))
        return replace(t, ref_fine=ref_fine, ref_coarse=ref_coarse, query=query)

    def _inter_view(self, t: ViewTokens) -> ViewTokens:
        query_normed = self.norm_query(t.query)
        prompt = torch.cat([query_normed, t.click], dim=1) if t.click is not None else query_normed
        reference = torch.cat([t.ref_fine, t.ref_coarse], dim=1)
        reference = reference + self.ref_cross_attn(self.norm_ref_cross(reference), prompt)
        ref_fine, ref_coarse = reference.split([t.ref_fine.shape[1], t.ref_coarse.shape[1]], dim=1)
        query = t.query + self.query_cross_attn(self.norm_query_cross(t.query), self.norm_ref_coarse(ref_coarse))
        return replace(t, ref_fine=ref_fine, ref_coarse=ref_coarse, query=query)

    def _experts(self, t: ViewTokens) -> tuple[ViewTokens, dict[str, torch.Tensor]]:
        groups = t.segments()
        parts = [t.ref_fine, t.ref_coarse] + ([t.query] if t.query is not None else [])
        everything = torch.cat(parts, dim=1)  # (B, N, C)
        batch, length, dim = everything.shape
        source = torch.cat([everything.new_full((n,), s, dtype=torch.long) for _, s, _, n, _ in groups])
        scale = torch.cat([everything.new_full((n,), c, dtype=torch.long) for _, _, c, n, _ in groups])
        out, aux = self.ffn(self.norm_ffn(everything).reshape(-1, dim), source.repeat(batch), scale.repeat(batch))
        everything = everything + out.view(batch, length, dim)
        pieces = everything.split([n for *_, n, _ in groups], dim=1)
        choices = aux.pop("choice").view(batch, length).split([n for *_, n, _ in groups], dim=1)
        aux["choice"] = {name: c.reshape(batch, *hw) for (name, *_, hw), c in zip(groups, choices, strict=True)}
        query = torch.cat(pieces[2:], dim=1) if t.query is not None else None
        return replace(t, ref_fine=pieces[0], ref_coarse=pieces[1], query=query), aux


class CrossViewEncoder(nn.Module):
    """Embeds both views' stride-16/32 features as tokens, runs the GMoE layers, returns the reference's fine grid
    (with the coarse grid folded in) and the query's fine tokens."""

    def __init__(self, in_channels: tuple[int, int], dim: int, layers: list[GMoELayer], position: nn.Module) -> None:
        super().__init__()
        self.proj_fine = nn.Linear(in_channels[0], dim)
        self.proj_coarse = nn.Linear(in_channels[1], dim)
        self.view_embed = nn.Embedding(2, dim)
        self.scale_embed = nn.Embedding(2, dim)
        self.position = position
        self.layers = nn.ModuleList(layers)
        self.coarse_to_fine = nn.Linear(dim, dim)
        self.norm_out = nn.LayerNorm(dim)

    def embed(self, feature: torch.Tensor, view: int, scale: int) -> tuple[torch.Tensor, tuple[int, int]]:
        """feature: (B, C_in, H, W) -> tokens (B, H * W, dim) with position, view and scale embeddings."""
        height, width = feature.shape[-2:]
        proj = self.proj_fine if scale == FINE else self.proj_coarse
        tokens = proj(feature.flatten(2).transpose(1, 2))
        tokens = tokens + self.position.grid(height, width).to(tokens.dtype)
        tokens = tokens + self.view_embed.weight[view] + self.scale_embed.weight[scale]
        return tokens, (height, width)

    def forward(
        self,
        reference: list[torch.Tensor],
        query: list[torch.Tensor] | None,
        click: torch.Tensor | None,
        query_prior: torch.Tensor | None,
    ) -> tuple[torch.Tensor, tuple[int, int], torch.Tensor | None, list[dict]]:
        """reference/query: [stride-16, stride-32] features (B, C_i, H, W); click: (B, 1, dim); query_prior:
        (B, Nq_fine, dim) dense click embedding added to the query's fine tokens.

        Returns reference fine tokens (B, Hf * Wf, dim), their (Hf, Wf), query fine tokens (B, Nq_fine, dim)
        and one aux dict per layer."""
        ref_fine, fine_hw = self.embed(reference[0], SATELLITE, FINE)
        ref_coarse, coarse_hw = self.embed(reference[1], SATELLITE, COARSE)
        tokens = ViewTokens(ref_fine, ref_coarse, fine_hw, coarse_hw)
        if query is not None:
            q_fine, q_fine_hw = self.embed(query[0], DRONE, FINE)
            q_coarse, q_coarse_hw = self.embed(query[1], DRONE, COARSE)
            if query_prior is not None:
                q_fine = q_fine + query_prior
            tokens = replace(
                tokens,
                query=torch.cat([q_fine, q_coarse], 1),
                query_fine_hw=q_fine_hw,
                query_coarse_hw=q_coarse_hw,
                click=click,
            )
        aux_per_layer = []
        for layer in self.layers:
            tokens, aux = layer(tokens)
            aux_per_layer.append(aux)
        reference_out = tokens.ref_fine + self._upsample(tokens.ref_coarse, coarse_hw, fine_hw)
        query_out = None if tokens.query is None else tokens.query[:, : q_fine_hw[0] * q_fine_hw[1]]
        return self.norm_out(reference_out), fine_hw, query_out, aux_per_layer

    def _upsample(self, coarse: torch.Tensor, coarse_hw: tuple[int, int], fine_hw: tuple[int, int]) -> torch.Tensor:
        batch, _, dim = coarse.shape
        grid = self.coarse_to_fine(coarse).transpose(1, 2).reshape(batch, dim, *coarse_hw)
        grid = F.interpolate(grid, size=fine_hw, mode="bilinear", align_corners=False)
        return grid.flatten(2).transpose(1, 2)


def build_ffn(dim: int, moe_config: MoEConfig, num_sources: int = 2) -> SparseMoE | DenseFFN:
    hidden = int(dim * moe_config.hidden_ratio)
    if moe_config.ffn == "dense":
        return DenseFFN(dim, hidden * (moe_config.top_k + int(moe_config.shared_expert)))  # as many active units
    if moe_config.ffn != "moe":
        raise ValueError(f"model.moe.ffn must be 'moe' or 'dense', got {moe_config.ffn!r}")
    if moe_config.router not in ("view_specific", "shared"):
        raise ValueError(f"model.moe.router must be 'view_specific' or 'shared', got {moe_config.router!r}")
    return SparseMoE(
        dim,
        hidden,
        moe_config.num_experts,
        moe_config.top_k,
        num_sources=num_sources,
        shared_router=moe_config.router == "shared",
        capacity_factor=moe_config.capacity_factor,
        router_noise=moe_config.router_noise,
        shared_expert=moe_config.shared_expert,
        gate_weights=moe_config.gate_weights,
    )
