"""Each speed change gives the output of the computation it replaced (bitwise, or within float tolerance where the
order of operations changed): fused Swin attention, channels-last backbone features, window keys and values joined
in one write, the MoE's gathered sum in place of index_add_; and the swin_t window-8 default loads ImageNet weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch

from smgeo.attention import with_global
from smgeo.backbone import SwinBackbone, build_backbone
from smgeo.bench_compare import loads_imagenet_weights, padded_sides
from smgeo.config import preset
from smgeo.moe import SparseMoE

SWIN = {"embed_dim": 32, "depths": (1, 1, 2, 1), "num_heads": (1, 2, 4, 8)}


@pytest.mark.parametrize(("window", "side"), [(8, 128), (7, 128)])  # tiled exactly, and padded (with shift masks)
def test_fused_swin_attention_gives_timms_unfused_output(window: int, side: int) -> None:
    torch.manual_seed(0)
    backbone = SwinBackbone("swin_tiny_patch4_window7_224", side, window_size=window, **SWIN).eval()
    images = torch.randn(2, 3, side, side)
    with torch.no_grad():
        fused = backbone(images)
        backbone.use_fused_attention(False)
        unfused = backbone(images)
    for a, b in zip(fused, unfused, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_backbone_features_are_views_of_timms_channels_last_memory() -> None:
    torch.manual_seed(0)
    backbone = SwinBackbone("swin_tiny_patch4_window7_224", 64, window_size=8, **SWIN).eval()
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        features = backbone(images)
        nhwc = backbone.body(images)
    for feature, raw in zip(features, nhwc, strict=True):
        assert feature.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(feature, raw.permute(0, 3, 1, 2).contiguous())
        assert feature.flatten(2).transpose(1, 2).is_contiguous()  # the encoder's tokens: no copy


def test_window_keys_joined_with_global_ones_equal_repeat_then_concatenate() -> None:
    batch, windows, heads, n_local, n_global, head_dim = 2, 6, 4, 9, 5, 8
    local = torch.randn(batch * windows, heads, n_local, head_dim)
    shared = torch.randn(batch, heads, n_global, head_dim)
    expected = torch.cat([local, shared.repeat_interleave(windows, dim=0)], dim=2)
    assert torch.equal(with_global(local, shared, batch), expected)


def test_sparse_moe_sum_equals_index_add_of_the_expert_outputs() -> None:
    torch.manual_seed(0)
    moe = SparseMoE(32, 64, num_experts=6, top_k=2).eval()
    tokens = torch.randn(300, 32)
    source, scale = torch.randint(0, 2, (300,)), torch.randint(0, 2, (300,))
    with torch.no_grad():
        routing = moe.router(tokens, source, scale)
        token_a, expert_a, weight_a = moe._assignments(routing)
        expected = torch.zeros_like(tokens)
        for expert_id, expert in enumerate(moe.experts):
            rows = expert_a == expert_id
            expected.index_add_(0, token_a[rows], expert(tokens[token_a[rows]]) * weight_a[rows, None])
        assert torch.equal(moe._sparse(tokens, routing), expected)


def test_swin_t_uses_window_8_which_no_stage_pads_and_imagenet_weights_load() -> None:
    model = preset("swin_t").model
    assert model.backbone.window_size == 8
    for side in (model.reference_size, *model.query_size):
        assert all(tokens == padded for tokens, padded in padded_sides(side, 8))
    assert padded_sides(1024, 7) == [[256, 259], [128, 133], [64, 70], [32, 35]]


def test_window_7_imagenet_weights_load_into_a_window_8_backbone(tmp_path: Path) -> None:
    config = preset("swin_t").model.backbone
    small = SwinBackbone(config.name, 128, window_size=8, **SWIN)
    assert loads_imagenet_weights(small) == {"fits": True, "tensors": len(small.body.state_dict())}
    # and through the config's path, at the model's sizes: a file saved as timm saves a 224-pixel window-7 Swin
    source = timm.create_model(config.name, pretrained=False, **SWIN)
    torch.save(source.state_dict(), tmp_path / "swin224.pt")
    loaded = build_backbone(config.__class__(weights=str(tmp_path / "swin224.pt"), window_size=8, **SWIN), 256)
    torch.testing.assert_close(loaded.body.state_dict()["patch_embed.proj.weight"], source.patch_embed.proj.weight)
