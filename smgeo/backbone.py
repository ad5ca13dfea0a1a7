"""The shared Swin backbone: one timm model encodes both views (weights shared, any input size).

timm leaves its Swin's fused attention off by default (`fused_attn` is "experimental" there); we switch it on:
`scaled_dot_product_attention` with the position bias (and shift mask) as its float mask gives the same output
(tested) in less time, on CPU as on CUDA. The features leave the backbone as (B, C, H, W) *views* of timm's
channels-last memory, not copies: the encoder reads them back as (B, H * W, C) tokens without a copy, and the
convolutions of the head take channels-last tensors as they are.

`load_weights` reads local Swin weights in any usual layout (an official Microsoft checkpoint, a timm one, this
backbone's own or a whole SMGeo model's, each maybe with DDP `module.` prefixes) and refuses any other model's.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import timm
import torch
from timm.models.swin_transformer import WindowAttention, checkpoint_filter_fn
from torch import nn

from smgeo.config import BackboneConfig

WRAPPERS = ("model", "state_dict")  # {"model": {...}} (Microsoft, SMGeo checkpoints), {"state_dict": {...}}
RUN_PREFIXES = ("module.", "_orig_mod.")  # added by DistributedDataParallel and torch.compile
EXPECTED_EXTRAS = ("head.", "norm.")  # a classification Swin's classifier and final norm: unused by features_only
BIAS_TABLE = ".relative_position_bias_table"

Mismatch = tuple[str, tuple[int, ...], tuple[int, ...]]  # key, shape in the file, shape in the backbone


@dataclass(frozen=True)
class WeightsReport:
    """What a weights file gave the backbone, keys in the backbone's layout (`layers_0.blocks.0...`).

    `ignored` holds file keys a backbone never uses (a classifier's head and final norm, a whole model's other
    modules); `unexpected` holds Swin keys the backbone lacks (a deeper Swin's extra blocks).
    """

    path: str
    loaded: tuple[str, ...]
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    mismatched: tuple[Mismatch, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def fits(self) -> bool:
        """Every backbone tensor comes from the file, and the file has no Swin tensor the backbone lacks."""
        return bool(self.loaded) and not (self.missing or self.unexpected or self.mismatched)

    def summary(self) -> str:
        parts = [f"{len(self.loaded)} tensors loaded", f"{len(self.ignored)} ignored"]
        problems = {"missing": self.missing, "unexpected": self.unexpected, "mismatched": self.mismatched}
        for name, items in problems.items():
            if items:
                parts.append(f"{len(items)} {name} (first: {items[0]})")
        return f"Swin weights {self.path}: " + ", ".join(parts)


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
        self.use_fused_attention(True)
        self.channels: list[int] = self.body.feature_info.channels()
        self.strides: list[int] = self.body.feature_info.reduction()

    def use_fused_attention(self, fused: bool) -> None:
        """Window attention through `scaled_dot_product_attention` (True) or timm's explicit softmax (False)."""
        for module in self.body.modules():
            if isinstance(module, WindowAttention):
                module.fused_attn = fused

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """images: (B, 3, H, W) normalised RGB -> [(B, C_i, H / s_i, W / s_i) for s_i in 8, 16, 32], each a
        channels-last view (strides of (B, H, W, C) memory)."""
        return [feature.permute(0, 3, 1, 2) for feature in self.body(images)]

    def load_weights(self, path: str | Path) -> WeightsReport:
        """Load local Swin weights (never a hub download) or raise ValueError when the file is not this Swin's.

        Wrappers and prefixes go first; then official and timm layouts pass through timm's converter, which also
        resizes position-bias tables to our window size; a classifier's head and final norm are ignored.
        """
        state, others = backbone_part(unwrap_state(read_state(path)))
        if not any(key.startswith(("layers.", "layers_")) for key in state):
            raise ValueError(f"{path} holds no Swin layers (its first keys: {list(state)[:3]}); is it a Swin?")
        template = timm.create_model(self.name, pretrained=False, num_classes=0, **self.swin_args)
        timm_state, strays = to_timm_layout(state, template, path)
        body_state, extras = to_body_layout(timm_state)
        report = compare(path, body_state, self.body.state_dict(), ignored=others + extras, strays=strays)
        if not report.fits:
            raise ValueError(f"not weights of this Swin ({self.name}, {self.swin_args}): {report.summary()}")
        self.body.load_state_dict({key: body_state[key] for key in report.loaded})
        print(report.summary(), file=sys.stderr)
        return report


def read_state(path: str | Path) -> Any:
    """The file's contents, loaded safely (weights_only) on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Swin weights {path} do not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated or foreign files
        raise ValueError(f"{path} is not a readable weights file: {exc}") from exc


def unwrap_state(payload: Any) -> dict[str, torch.Tensor]:
    """The tensors inside any {"model": ...} / {"state_dict": ...} wrappers, keys without run prefixes."""
    while isinstance(payload, dict) and any(isinstance(payload.get(name), dict) for name in WRAPPERS):
        payload = next(payload[name] for name in WRAPPERS if isinstance(payload.get(name), dict))
    if not isinstance(payload, dict):
        return {}
    return {strip_run_prefixes(key): value for key, value in payload.items() if isinstance(value, torch.Tensor)}


def strip_run_prefixes(key: str) -> str:
    for prefix in RUN_PREFIXES:
        key = key.removeprefix(prefix)
    return key


def backbone_part(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """A whole SMGeo model's backbone (`backbone.body.*`) or the file as it is, without `body.`; and the keys of
    the model's other modules."""
    others = []
    if any(key.startswith("backbone.") for key in state):
        others = [key for key in state if not key.startswith("backbone.")]
        state = {key.removeprefix("backbone."): value for key, value in state.items() if key not in others}
    return {key.removeprefix("body."): value for key, value in state.items()}, others


def to_timm_layout(
    state: dict[str, torch.Tensor], template: nn.Module, path: str | Path
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """timm's classification layout (`layers.0.blocks.0...`), official checkpoints converted and bias tables
    resized to the template's window by timm's `checkpoint_filter_fn`. Also returns the bias tables of blocks the
    template lacks (the converter cannot place them)."""
    state = {re.sub(r"^layers_(\d+)\.", r"layers.\1.", key): value for key, value in state.items()}
    modules = dict(template.named_modules())
    strays = [key for key in state if key.endswith(BIAS_TABLE) and key.removesuffix(BIAS_TABLE) not in modules]
    kept = {key: value for key, value in state.items() if key not in strays}
    try:
        return checkpoint_filter_fn(kept, template), strays
    except (AssertionError, RuntimeError, ValueError) as exc:  # a table that no resizing fits
        raise ValueError(f"{path}: its Swin tensors do not fit this Swin ({exc})") from exc


def to_body_layout(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Our features_only layout (`layers_0.blocks.0...`) and the classifier keys set apart."""
    extras = [key for key in state if key.startswith(EXPECTED_EXTRAS)]
    body = {re.sub(r"^layers\.(\d+)\.", r"layers_\1.", key): value for key, value in state.items() if key not in extras}
    return body, extras


def compare(
    path: str | Path,
    state: dict[str, torch.Tensor],
    own: dict[str, torch.Tensor],
    ignored: list[str],
    strays: list[str],
) -> WeightsReport:
    """The file's tensors against the backbone's, both in the backbone's layout."""
    shared = [key for key in state if key in own]
    differ = [key for key in shared if state[key].shape != own[key].shape]
    return WeightsReport(
        path=str(path),
        loaded=tuple(key for key in shared if key not in differ),
        missing=tuple(key for key in own if key not in state),
        unexpected=tuple(strays + [key for key in state if key not in own]),
        mismatched=tuple((key, tuple(state[key].shape), tuple(own[key].shape)) for key in differ),
        ignored=tuple(ignored),
    )


def build_backbone(config: BackboneConfig, img_size: int, load_pretrained: bool = True) -> SwinBackbone:
    """The Swin of `config`; with `load_pretrained`, `config.weights` (when set) loaded into it. A model rebuilt from
    a checkpoint passes False: its weights are in the checkpoint, and the original file may be on another machine."""
    backbone = SwinBackbone(
        config.name,
        img_size,
        embed_dim=config.embed_dim,
        depths=config.depths,
        num_heads=config.num_heads,
        window_size=config.window_size,
        drop_path_rate=config.drop_path_rate,
    )
    if config.weights and load_pretrained:
        backbone.load_weights(config.weights)
    return backbone
