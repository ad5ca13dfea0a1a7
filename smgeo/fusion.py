"""Query-guided fusion: a click-conditioned embedding of the query, correlated with every reference token and
injected residually into the reference features."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class QueryGuidedFusion(nn.Module):
    """1. Attention-pool the query tokens, weighted by the click prior and the click token -> query embedding q.
    2. Cosine similarity of every reference token with q, times a learned temperature -> similarity map.
    3. ref + Linear([ref * q_hat, similarity]): a residual injection, so features keep their scale (multiplying
       by a softmax over thousands of cells would shrink them ~1e-3)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.pool_query = nn.Linear(dim, dim)
        self.pool_key = nn.Linear(dim, dim)
        self.embed = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.log_temperature = nn.Parameter(torch.tensor(math.log(10.0)))
        self.inject = nn.Linear(dim + 1, dim)

    def forward(
        self, reference: torch.Tensor, query: torch.Tensor, click: torch.Tensor, prior: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """reference: (B, N, C); query: (B, Nq, C) fine query tokens; click: (B, 1, C); prior: (B, Nq) in [0, 1].

        Returns the fused reference (B, N, C), the similarity logits (B, N) and the pooling weights (B, Nq)."""
        scores = (self.pool_query(click) * self.pool_key(query)).sum(-1) / math.sqrt(query.shape[-1])
        weights = (scores.float() + prior.float().clamp_min(1e-6).log()).softmax(dim=-1)
        pooled = (weights[..., None].to(query.dtype) * query).sum(dim=1)
        q_embed = self.embed(pooled + click[:, 0])
        with torch.autocast(device_type=reference.device.type, enabled=False):
            # fp32: these are the logits of a cross-entropy over thousands of cells (bf16 keeps ~3 digits)
            q_hat = F.normalize(q_embed.float(), dim=-1)
            similarity = (F.normalize(reference.float(), dim=-1) * q_hat[:, None]).sum(-1) * self.log_temperature.exp()
        mixed = reference * q_hat[:, None].to(reference.dtype)
        injected = self.inject(torch.cat([mixed, similarity[..., None].to(mixed.dtype)], dim=-1))
        return reference + injected, similarity, weights
