"""Grid-level sparse mixture of experts with view-specific routers.

Every grid token (of either view, at either scale) is routed by the router of its source view, which sees
the token's content plus an embedding of its feature level (scale). The top-k experts run on the token
(sparse dispatch) and their outputs are mixed with the renormalised gate weights. Router math runs in fp32.
Auxiliary terms are returned as data: the training loss weights them.

Axis names: t = tokens, e = experts, k = chosen experts per token, c = channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from smgeo.init_streams import draw_seed, init_stream


@dataclass
class RoutingResult:
    """What a router decided for a flat list of T tokens."""

    logits_te: torch.Tensor  # (T, E) fp32 router logits
    probs_te: torch.Tensor  # (T, E) fp32 softmax of the logits
    experts_tk: torch.Tensor  # (T, k) chosen experts, best first
    weights_tk: torch.Tensor  # (T, k) fp32 gate weights of the chosen experts (summing to 1 per token if renormalized)


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class Router(nn.Module):
    """One linear gate per source view (or one shared by all views), fed with content + scale embedding."""

    def __init__(
        self,
        dim: int,
        num_experts: int,
        top_k: int,
        num_sources: int,
        num_scales: int,
        shared: bool,
        noise: float = 0.0,
        renormalize: bool = True,
    ) -> None:
        super().__init__()
        self.top_k, self.shared, self.noise, self.renormalize = top_k, shared, noise, renormalize
        self.scale_embed = nn.Embedding(num_scales, dim)
        nn.init.normal_(self.scale_embed.weight, std=0.02)
        # Each gate is drawn whole before the next: the shared router's one gate equals the first view-specific one.
        self.gates = nn.ModuleList(_gate(dim, num_experts) for _ in range(1 if shared else num_sources))

    def forward(self, tokens_tc: torch.Tensor, source_t: torch.Tensor, scale_t: torch.Tensor) -> RoutingResult:
        with torch.autocast(device_type=tokens_tc.device.type, enabled=False):
            inputs_tc = tokens_tc.float() + self.scale_embed(scale_t).float()
            if self.training and self.noise > 0:
                inputs_tc = inputs_tc * torch.empty_like(inputs_tc).uniform_(1 - self.noise, 1 + self.noise)
            logits_te = self._logits(inputs_tc, source_t)
            probs_te = logits_te.softmax(dim=-1)
            top_weights_tk, experts_tk = probs_te.topk(self.top_k, dim=-1)
            weights_tk = top_weights_tk
            if self.renormalize:
                weights_tk = top_weights_tk / top_weights_tk.sum(dim=-1, keepdim=True)
        return RoutingResult(logits_te, probs_te, experts_tk, weights_tk)

    def _logits(self, inputs_tc: torch.Tensor, source_t: torch.Tensor) -> torch.Tensor:
        if self.shared:
            return F.linear(inputs_tc, self.gates[0].weight.float())
        logits_te = inputs_tc.new_empty(inputs_tc.shape[0], self.gates[0].out_features)
        for source, gate in enumerate(self.gates):
            rows = (source_t == source).nonzero(as_tuple=True)[0]
            logits_te[rows] = F.linear(inputs_tc[rows], gate.weight.float())
        return logits_te


def _gate(dim: int, num_experts: int) -> nn.Linear:
    gate = nn.Linear(dim, num_experts, bias=False)
    nn.init.normal_(gate.weight, std=0.02)
    return gate


def gate_entropy(probs_te: torch.Tensor) -> torch.Tensor:
    """(T, E) gate probabilities -> (T,) entropy in nats (0: one expert; ln E: uniform)."""
    return -(probs_te * probs_te.clamp_min(1e-9).log()).sum(-1)


def routing_aux(routing: RoutingResult, source_t: torch.Tensor, num_sources: int) -> dict[str, torch.Tensor]:
    """Auxiliary terms of one routing, all with gradients where they are losses.

    balance: Switch/GShard load balance E * sum_e f_e * P_e, averaged over source views;
    z: router z-loss mean(logsumexp(logits)^2); entropy: mean per-token gate entropy (with gradient);
    load: (E,) share of routed assignments per expert (no gradient).
    """
    num_experts = routing.probs_te.shape[1]
    chosen_te = F.one_hot(routing.experts_tk, num_experts).sum(dim=1).float()  # (T, E) 1 where chosen
    balances = []
    for source in range(num_sources):
        rows = source_t == source
        if rows.any():
            share_e = chosen_te[rows].mean(0) / routing.experts_tk.shape[1]
            balances.append(num_experts * (share_e * routing.probs_te[rows].mean(0)).sum())
    entropy_t = gate_entropy(routing.probs_te)
    return {
        "balance": torch.stack(balances).mean(),
        "z": torch.logsumexp(routing.logits_te, dim=-1).pow(2).mean(),
        "entropy": entropy_t.mean(),
        "load": (chosen_te.sum(0) / chosen_te.sum()).detach(),
    }


class SparseMoE(nn.Module):
    """Top-k mixture of expert FFNs over a flat list of tokens from both views.

    `dispatch="sparse"` runs each expert only on the tokens routed to it; `dispatch="dense"` runs every expert
    on every token and zeroes the unchosen ones (the released code's way; kept to measure and to test against).
    An expert that receives no tokens still runs on an empty batch, so every parameter takes part in the
    backward pass (DistributedDataParallel requires it). With `shared_expert`, one more FFN runs on every token and
    its output is added unweighted (DeepSeekMoE's shared expert): it carries what all tokens need, the routed experts
    what differs.
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        num_experts: int,
        top_k: int,
        num_sources: int = 2,
        num_scales: int = 2,
        shared_router: bool = False,
        capacity_factor: float | None = None,
        router_noise: float = 0.0,
        shared_expert: bool = False,
        gate_weights: str = "renormalized",
    ) -> None:
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f"top_k must be in [1, {num_experts}], got {top_k}")
        if gate_weights not in ("renormalized", "softmax"):
            raise ValueError(f"gate_weights must be 'renormalized' or 'softmax', got {gate_weights!r}")
        self.num_sources, self.capacity_factor = num_sources, capacity_factor
        # The router and the experts draw their initial weights from streams of their own: the shared-router
        # ablation (one gate instead of one per view) then starts with the same experts as the full model.
        streams = draw_seed()
        with init_stream(streams, "router"):
            self.router = Router(
                dim, num_experts, top_k, num_sources, num_scales, shared_router, router_noise,
                renormalize=gate_weights == "renormalized",
            )  # fmt: skip
        with init_stream(streams, "experts"):
            self.experts = nn.ModuleList(FeedForward(dim, hidden) for _ in range(num_experts))
        self.shared_expert = None
        if shared_expert:
            with init_stream(streams, "shared_expert"):
                self.shared_expert = FeedForward(dim, hidden)
        self.dispatch = "sparse"

    def forward(
        self, tokens_tc: torch.Tensor, source_t: torch.Tensor, scale_t: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """tokens_tc: (T, C); source_t, scale_t: (T,) ints. Returns (T, C) and the aux terms (+ "choice": (T,))."""
        routing = self.router(tokens_tc, source_t, scale_t)
        out_tc = self._dense(tokens_tc, routing) if self.dispatch == "dense" else self._sparse(tokens_tc, routing)
        if self.shared_expert is not None:
            out_tc = out_tc + self.shared_expert(tokens_tc)
        aux = routing_aux(routing, source_t, self.num_sources)
        aux["choice"] = routing.experts_tk[:, 0].detach()
        return out_tc, aux

    def _assignments(self, routing: RoutingResult) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flat (token, expert, weight) assignments sorted by expert, after the optional capacity limit."""
        num_tokens, top_k = routing.experts_tk.shape
        token_a = torch.arange(num_tokens, device=routing.experts_tk.device).repeat_interleave(top_k)
        expert_a = routing.experts_tk.reshape(-1)
        weight_a = routing.weights_tk.reshape(-1)
        if self.capacity_factor is not None:
            capacity = math.ceil(self.capacity_factor * num_tokens * top_k / len(self.experts))
            # Keep each expert's `capacity` highest-weight assignments; dropped tokens pass via the residual.
            order = torch.argsort(weight_a, descending=True, stable=True)
            rank = torch.zeros_like(expert_a)
            rank[order] = _rank_within_group(expert_a[order])
            keep = rank < capacity
            token_a, expert_a, weight_a = token_a[keep], expert_a[keep], weight_a[keep]
        order = torch.argsort(expert_a, stable=True)
        return token_a[order], expert_a[order], weight_a[order]

    def _sparse(self, tokens_tc: torch.Tensor, routing: RoutingResult) -> torch.Tensor:
        token_a, expert_a, weight_a = self._assignments(routing)
        counts = torch.bincount(expert_a, minlength=len(self.experts)).tolist()
        outs_ac = []
        start = 0
        for expert, count in zip(self.experts, counts, strict=True):
            rows = token_a[start : start + count]
            outs_ac.append(expert(tokens_tc[rows]) * weight_a[start : start + count, None].to(tokens_tc.dtype))
            start += count
        out_ac = torch.cat(outs_ac).to(tokens_tc.dtype)
        if self.capacity_factor is not None:  # tokens keep 0..k assignments: add them up where they belong
            return torch.zeros_like(tokens_tc).index_add_(0, token_a, out_ac)
        # Every token has exactly k assignments: gather them token by token (a token's in expert order, the order
        # index_add_ would add them in) and sum over k: the same sums without index_add_'s scatter, which took a
        # quarter of the swin_t encoder's CPU time in a profile.
        by_token = torch.argsort(token_a, stable=True)
        return out_ac[by_token].view(tokens_tc.shape[0], -1, tokens_tc.shape[1]).sum(dim=1)

    def _dense(self, tokens_tc: torch.Tensor, routing: RoutingResult) -> torch.Tensor:
        combine_te = torch.zeros_like(routing.probs_te).scatter(1, routing.experts_tk, routing.weights_tk)
        outs_tec = torch.stack([expert(tokens_tc) for expert in self.experts], dim=1)
        return (outs_tec * combine_te[..., None].to(outs_tec.dtype)).sum(dim=1)


def _rank_within_group(groups: torch.Tensor) -> torch.Tensor:
    """For a sequence of group ids, the 0-based position of each element among earlier ones of its group."""
    one_hot = F.one_hot(groups, int(groups.max()) + 1 if groups.numel() else 1)
    return ((one_hot.cumsum(0) - 1) * one_hot).sum(1)


class DenseFFN(nn.Module):
    """The ablation without experts: one FFN as wide as the k active experts together (same active compute)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.ffn = FeedForward(dim, hidden)

    def forward(
        self, tokens_tc: torch.Tensor, source_t: torch.Tensor, scale_t: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        zero = tokens_tc.new_zeros((), dtype=torch.float32)
        aux = {"balance": zero, "z": zero, "entropy": zero, "load": zero.new_ones(1), "choice": source_t * 0}
        return self.ffn(tokens_tc), aux
