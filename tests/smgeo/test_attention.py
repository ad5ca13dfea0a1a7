"""The windowed attention of the cross-view encoder projects the shared global tokens once per image, not once per
window: the same output as attending over each window's tokens concatenated with a copy of the global tokens."""

from __future__ import annotations

import pytest
import torch

from smgeo import attention
from smgeo.attention import WindowAttention, window_merge, window_partition, with_global


def reference(layer: WindowAttention, tokens: torch.Tensor, hw: tuple[int, int], global_tokens: torch.Tensor | None):  # noqa: ANN201
    """The straightforward formulation: every window's context is its tokens plus a copy of the global ones."""
    batch, _, dim = tokens.shape
    windows, padded = window_partition(tokens.view(batch, *hw, dim), layer.window)
    key_mask = None
    if padded != hw:
        key_mask = window_partition(tokens.new_ones(batch, *hw, 1), layer.window)[0][..., 0] > 0
    context = windows
    if global_tokens is not None:
        shared = global_tokens.repeat_interleave(windows.shape[0] // batch, dim=0)
        context = torch.cat([windows, shared], dim=1)
        if key_mask is not None:
            key_mask = torch.cat([key_mask, key_mask.new_ones(shared.shape[:2])], dim=1)
    out = layer.attention(windows, context, key_mask)
    return window_merge(out, layer.window, batch, padded, hw).reshape(batch, -1, dim)


@pytest.mark.parametrize("hw", [(16, 16), (13, 18)])  # a grid the windows tile, and one they pad
@pytest.mark.parametrize("with_global", [True, False])
def test_projecting_the_global_tokens_once_gives_the_same_output(hw: tuple[int, int], with_global: bool) -> None:
    torch.manual_seed(0)
    layer = WindowAttention(dim=32, num_heads=4, window=4).eval()
    tokens = torch.randn(2, hw[0] * hw[1], 32)
    global_tokens = torch.randn(2, 9, 32) if with_global else None
    with torch.no_grad():
        fast, slow = layer(tokens, hw, global_tokens), reference(layer, tokens, hw, global_tokens)
    assert fast.shape == (2, hw[0] * hw[1], 32)
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)


def test_gradients_reach_the_projection_through_both_paths() -> None:
    torch.manual_seed(1)
    layer = WindowAttention(dim=16, num_heads=2, window=4)
    tokens, global_tokens = torch.randn(1, 64, 16, requires_grad=True), torch.randn(1, 4, 16, requires_grad=True)
    layer(tokens, (8, 8), global_tokens).sum().backward()
    assert tokens.grad.abs().sum() > 0 and global_tokens.grad.abs().sum() > 0


def test_inference_attends_window_and_global_keys_apart_with_the_same_output(monkeypatch) -> None:  # noqa: ANN001
    """Without gradients (the predictor) no window gets a copy of the global keys: the two parts are attended apart
    and joined by their log-sum-exps, giving what the joined keys give in training."""
    torch.manual_seed(2)
    layer = WindowAttention(dim=32, num_heads=4, window=4).eval()
    tokens, global_tokens = torch.randn(2, 13 * 18, 32), 3 * torch.randn(2, 16, 32)
    joins = []
    monkeypatch.setattr(attention, "with_global", lambda *a: joins.append(a) or with_global(*a))
    with torch.no_grad():
        split = layer(tokens, (13, 18), global_tokens)
    assert joins == []
    joined = layer(tokens, (13, 18), global_tokens)  # gradients on: keys joined, as in training
    assert len(joins) == 2  # keys and values
    torch.testing.assert_close(split, joined.detach(), rtol=1e-5, atol=1e-5)
