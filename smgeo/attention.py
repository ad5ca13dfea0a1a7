"""Attention blocks of the cross-view encoder: full, cross and windowed (with global context keys)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Multi-head attention of `queries` over `context` (self-attention when context is None)."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by {num_heads} heads")
        self.num_heads, self.dropout = num_heads, dropout
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(
        self, queries: torch.Tensor, context: torch.Tensor | None = None, key_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """queries: (B, Nq, C), context: (B, Nk, C), key_mask: (B, Nk) bool, False = ignore -> (B, Nq, C)."""
        return self.attend(queries, *self.keys_values(queries if context is None else context), key_mask)

    def keys_values(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """context: (B, Nk, C) -> keys and values, each (B, heads, Nk, C / heads)."""
        batch, n_k, _ = context.shape
        k, v = self.kv(context).view(batch, n_k, 2, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        return k, v

    def attend(
        self, queries: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """queries: (B, Nq, C) over keys/values from keys_values -> (B, Nq, C)."""
        batch, n_q, dim = queries.shape
        q = self.q(queries).view(batch, n_q, self.num_heads, -1).transpose(1, 2)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(batch, n_q, dim))

    def attend_window_and_global(
        self,
        windows: torch.Tensor,
        local: tuple[torch.Tensor, torch.Tensor],
        key_mask: torch.Tensor | None,
        shared: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        """What `attend` gives over each window's keys followed by its image's global ones, without writing the
        global keys and values beside every window: the windows' queries attend to their own keys, then all the
        queries of an image to its global keys at once, and the two answers are joined by their log-sum-exps (the
        share of the softmax each part holds). windows: (B * nW, N, C); local: (B * nW, heads, N, D) keys and
        values; key_mask: (B * nW, N) or None; shared: (B, heads, G, D) -> (B * nW, N, C). Inference only (no
        gradient flows through a log-sum-exp here): `split_attention_applies` says when."""
        n_windows, n_q, dim = windows.shape
        batch, heads = shared[0].shape[:2]
        q = self.q(windows).view(n_windows, n_q, heads, -1).transpose(1, 2)
        mask = None
        if key_mask is not None:  # the kernel takes an additive mask of the queries' dtype
            mask = torch.zeros(key_mask.shape, dtype=q.dtype, device=q.device).masked_fill_(~key_mask, float("-inf"))
            mask = mask[:, None, None, :]
        out_local, lse_local = _attention_with_lse(q, *local, mask)
        per_image = n_windows // batch
        q_image = q.view(batch, per_image, heads, n_q, -1).transpose(1, 2).reshape(batch, heads, per_image * n_q, -1)
        out_global, lse_global = _attention_with_lse(q_image, *shared, None)
        out_global = out_global.view(batch, heads, per_image, n_q, -1).transpose(1, 2).reshape(q.shape)
        lse_global = lse_global.view(batch, heads, per_image, n_q).transpose(1, 2).reshape(lse_local.shape)
        local_share = torch.sigmoid(lse_local - lse_global).unsqueeze(-1).to(out_local.dtype)
        out = torch.lerp(out_global, out_local, local_share)
        return self.proj(out.transpose(1, 2).reshape(n_windows, n_q, dim))


def split_attention_applies(queries: torch.Tensor, module: nn.Module) -> bool:
    """Whether `attend_window_and_global` may stand in for `attend`: on the CPU (its kernel gives the log-sum-exp
    there), without gradients and without dropout, i.e. in the predictor and in evaluation."""
    return (
        queries.device.type == "cpu"
        and not torch.is_grad_enabled()
        and not (module.training and module.attention.dropout > 0)
        and hasattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu")
    )


def _attention_with_lse(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention and the log-sum-exp of each query's scaled scores: (B, heads, Nq, D), (B, heads, Nq)."""
    out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, attn_mask=mask)
    return out, lse


def window_partition(grid: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """grid: (B, H, W, C) -> windows (B * nW, window * window, C), padding H and W up to multiples of window.

    Returns the windows and the padded (H, W)."""
    batch, height, width, dim = grid.shape
    pad_h, pad_w = (-height) % window, (-width) % window
    grid = F.pad(grid, (0, 0, 0, pad_w, 0, pad_h))
    h_pad, w_pad = height + pad_h, width + pad_w
    windows = grid.view(batch, h_pad // window, window, w_pad // window, window, dim)
    return windows.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, dim), (h_pad, w_pad)


def window_merge(
    windows: torch.Tensor, window: int, batch: int, padded_hw: tuple[int, int], hw: tuple[int, int]
) -> torch.Tensor:
    """Inverse of window_partition: (B * nW, window * window, C) -> (B, H, W, C) with the padding removed."""
    h_pad, w_pad = padded_hw
    grid = windows.view(batch, h_pad // window, w_pad // window, window, window, -1)
    grid = grid.permute(0, 1, 3, 2, 4, 5).reshape(batch, h_pad, w_pad, -1)
    return grid[:, : hw[0], : hw[1]]


class WindowAttention(nn.Module):
    """Self-attention inside non-overlapping windows of a grid; every window also attends to shared global
    tokens (the coarse grid), which carry context across windows at a fraction of full attention's cost.

    Padded cells exist only as keys of the windows they pad; their outputs are dropped.
    """

    def __init__(self, dim: int, num_heads: int, window: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.window = window
        self.attention = Attention(dim, num_heads, dropout)

    def forward(self, tokens: torch.Tensor, hw: tuple[int, int], global_tokens: torch.Tensor | None) -> torch.Tensor:
        """tokens: (B, H * W, C) row-major; global_tokens: (B, G, C) or None -> (B, H * W, C)."""
        batch, _, dim = tokens.shape
        windows, padded_hw = window_partition(tokens.view(batch, *hw, dim), self.window)
        key_mask = None
        if padded_hw != hw:
            valid = tokens.new_ones(batch, *hw, 1)
            key_mask = window_partition(valid, self.window)[0][..., 0] > 0
        k, v = self.attention.keys_values(windows)
        if global_tokens is not None and split_attention_applies(windows, self):
            shared = self.attention.keys_values(global_tokens)
            out = self.attention.attend_window_and_global(windows, (k, v), key_mask, shared)
            return window_merge(out, self.window, batch, padded_hw, hw).reshape(batch, -1, dim)
        if global_tokens is not None:
            k, v = (
                with_global(w, g, batch) for w, g in zip((k, v), self.attention.keys_values(global_tokens), strict=True)
            )
            if key_mask is not None:
                key_mask = torch.cat([key_mask, key_mask.new_ones(windows.shape[0], global_tokens.shape[1])], dim=1)
        out = self.attention.attend(windows, k, v, key_mask)
        return window_merge(out, self.window, batch, padded_hw, hw).reshape(batch, -1, dim)


def with_global(local: torch.Tensor, shared: torch.Tensor, batch: int) -> torch.Tensor:
    """Each window's keys (or values) followed by its image's global ones: local (B * nW, heads, N, D) and shared
    (B, heads, G, D) -> (B * nW, heads, N + G, D).

    The global tokens are projected once per image (not once per window) and written straight into their place
    beside every window's own: one write of the joined tensor, where a repeat then a concatenation wrote it twice.
    """
    windows, heads, n_local, head_dim = local.shape
    joined = local.new_empty(batch, windows // batch, heads, n_local + shared.shape[2], head_dim)
    joined[:, :, :, :n_local] = local.view(batch, windows // batch, heads, n_local, head_dim)
    joined[:, :, :, n_local:] = shared[:, None]
    return joined.view(windows, heads, -1, head_dim)
