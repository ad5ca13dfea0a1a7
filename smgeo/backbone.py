"""The shared Swin backbone: one timm model encodes both views (weights shared, any input size)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import timm
import torch
from timm.models.swin_transformer import checkpoint_filter_fn
from torch import nn

from smgeo.config import BackboneConfig


class SwinBackbone(nn.Module):
    """timm Swin with `features_only`: three feature maps at strides 8, 16 and 32.

    timm's Swin features are channels-last (B, H, W, C); `forward` is the one place they become (B, C, H, W).
    """

    def __init__(self, name: str, img_size: int, **swin_args: Any) -> None:
        super().__init__()
        self.name, self.swin_args = name, dict(swin_args, img_size=img_size)
        self.body = timm.create_model(
            name, pretrained=False, features_only=True, out_indices=(1, 2, 3), dynamic_img_size=True, **self.swin_args
        )
        self.channels: list[int] = self.body.feature_info.channels()
        self.strides: list[int] = self.body.feature_info.reduction()

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """images: (B, 3, H, W) normalised RGB -> [(B, C_i, H / s_i, W / s_i) for s_i in 8, 16, 32]."""
        return [feature.permute(0, 3, 1, 2).contiguous() for feature in self.body(images)]

    def load_weights(self, path: str | Path) -> list[str]:
        """Load local Swin weights (never a hub download): an official Microsoft Swin checkpoint, a timm one, or
        this backbone's own state dict. Position-bias tables are resized to our window size by timm's own
        converter. Returns the backbone keys the file did not provide."""
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        template = timm.create_model(self.name, pretrained=False, num_classes=0, **self.swin_args)
        state = checkpoint_filter_fn(state, template)
        own = self.body.state_dict()
        matched = {}
        for key, value in state.items():
            for prefix in ("module.", "backbone.", "body."):
                key = key.removeprefix(prefix)
            key = key.replace("layers.", "layers_", 1)
            if key in own and own[key].shape == value.shape:
                matched[key] = value
        if not matched:
            raise ValueError(f"{path}: no tensor matches this Swin backbone; is it a Swin checkpoint of this size?")
        return list(self.body.load_state_dict(matched, strict=False).missing_keys)


def build_backbone(config: BackboneConfig, img_size: int) -> SwinBackbone:
    backbone = SwinBackbone(
        config.name,
        img_size,
        embed_dim=config.embed_dim,
        depths=config.depths,
        num_heads=config.num_heads,
        window_size=config.window_size,
        drop_path_rate=config.drop_path_rate,
    )
    if config.weights:
        backbone.load_weights(config.weights)
    return backbone
