"""Configuration: frozen dataclasses, one per component, nested in `SMGeoConfig`.

Presets give complete configs (`swin_t` at paper scale, `tiny` for CPU); YAML files and `key=value`
overrides only change fields. The resolved config is saved in every checkpoint (`config_to_dict`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class BackboneConfig:
    """A timm Swin Transformer shared by both views (features at strides 8/16/32)."""

    name: str = "swin_tiny_patch4_window7_224"
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (3, 6, 12, 24)
    window_size: int = 7
    drop_path_rate: float = 0.1
    weights: str | None = None  # a local file of backbone weights; never downloaded


@dataclass(frozen=True)
class PromptConfig:
    """Click prompt encoder: random Fourier features + a Gaussian prior on the query grid."""

    fourier_scale: float = 1.0
    prior_sigma: float = 0.1  # as a fraction of the query diagonal


@dataclass(frozen=True)
class MoEConfig:
    """Grid-level sparse mixture of experts in each cross-view encoder layer."""

    num_experts: int = 6
    top_k: int = 2
    hidden_ratio: float = 2.0
    capacity_factor: float | None = None  # None: no token is dropped
    router: str = "view_specific"  # or "shared" (one router for both views: an ablation)
    ffn: str = "moe"  # or "dense" (one dense FFN instead of experts: an ablation)
    router_noise: float = 0.0  # multiplicative jitter on router inputs while training
    shared_expert: bool = False  # one more expert every token runs, beside its top_k routed ones
    # How the chosen experts' outputs are weighted: "renormalized" (the top_k gate probabilities rescaled to sum
    # to 1) or "softmax" (the probabilities as they are, Switch-style: with top_k=1 the router learns from the task)
    gate_weights: str = "renormalized"


@dataclass(frozen=True)
class EncoderConfig:
    """GMoE cross-view encoder over stride-16 (fine) and stride-32 (coarse) grid tokens of both views."""

    dim: int = 256
    num_layers: int = 4
    num_heads: int = 8
    window_size: int = 8  # windowed self-attention on the reference's fine grid
    dropout: float = 0.0


@dataclass(frozen=True)
class HeadConfig:
    """Anchor-free CenterNet-style head on the reference grid."""

    stride: int = 8  # 8: upsampled with the backbone's stride-8 features; 16: the encoder grid
    num_layers: int = 1  # light windowed transformer layers before the conv branches
    hidden: int = 128
    top_k: int = 5  # candidates decoded for the reviewer


@dataclass(frozen=True)
class ModelConfig:
    query_size: tuple[int, int] = (256, 256)  # (height, width) of the drone query at the model input
    reference_size: int = 1024  # side of the square satellite reference at the model input
    query_agnostic: bool = False  # ablation: no query, no click, no fusion (what the paper's release computes)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    moe: MoEConfig = field(default_factory=MoEConfig)
    head: HeadConfig = field(default_factory=HeadConfig)


@dataclass(frozen=True)
class LossConfig:
    heatmap: float = 1.0
    offset: float = 1.0
    size: float = 0.1
    giou: float = 2.0
    focal_alpha: float = 2.0
    focal_beta: float = 4.0
    moe_balance: float = 0.01
    moe_z: float = 0.001
    moe_entropy: float = 0.005  # > 0 sharpens each token's gate (entropy minimised); < 0 spreads it
    moe_entropy_warmup_steps: int = 500  # the entropy term ramps linearly from 0 over these steps
    similarity: float = 1.0  # cross-entropy of the fusion's similarity map at the target cell


@dataclass(frozen=True)
class DataConfig:
    data_root: str = "data"
    data_name: str = "CVOGL_DroneAerial"
    frame_size: int = 1024  # the satellite frame the CVOGL boxes are given in
    augment: bool = True  # training split only; val/test are never augmented
    views: str = "standard"  # how hard training augments: "standard", or "strong" (few labels: smgeo.finetune)
    num_workers: int = 2  # loader processes, kept alive across epochs
    # Keep the training images, decoded at the size training needs, as raw arrays in <data_root>/<data_name>/
    # .decoded (smgeo.data.images.DecodeCache): the same samples without a decode per epoch. Worth its disk for a
    # model that steps faster than the CPU decodes (the tiny preset).
    decode_cache: bool = False


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 25
    batch_size: int = 8  # per process
    # The learning rate of a global batch of 8 (processes x batch_size). A run uses it scaled linearly to its own
    # global batch (smgeo.schedule.effective_lr) and records that value as effective_lr in its checkpoints and logs.
    lr: float = 1e-4
    min_lr: float = 1e-5  # the cosine's floor, not scaled
    weight_decay: float = 1e-4
    warmup_epochs: float = 2.0
    grad_clip: float = 1.0
    seed: int = 0
    deterministic: bool = True  # deterministic cuDNN and torch algorithms (slower on some CUDA ops)
    amp: bool = True  # bf16 autocast on CUDA; ignored on CPU
    eval_every_epochs: int = 1
    eval_every_steps: int | None = None  # evaluate every this many steps instead (runs of few, short epochs)
    eval_initial: bool = False  # the starting weights are a candidate too, evaluated first (fine-tunes: the base)
    select_metric: str = "acc@0.5"  # the val metric whose best the run keeps; "mIoU" is continuous (few val pairs)
    frozen: tuple[str, ...] = ()  # model parts not trained, by name prefix: e.g. ("backbone",)
    init_partial: bool = False  # init_from may differ in architecture: its tensors of matching name and shape load
    log_every_steps: int = 10
    max_steps: int | None = None  # stop early (tests, smoke runs)
    out_dir: str = "runs/smgeo"


@dataclass(frozen=True)
class SMGeoConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _swin_t() -> SMGeoConfig:
    # Window 8, not the 224-pixel Swin's 7: at 1024 (and 256) pixels every stage's side is then a multiple of the
    # window, so no stage computes padding (window 7 pads 256/128/64/32 tokens a side to 259/133/70/35). ImageNet
    # window-7 weights still load, their position-bias tables resized by timm. Study: docs/benchmarks.md.
    return SMGeoConfig(model=ModelConfig(backbone=BackboneConfig(window_size=8)))


def _tiny() -> SMGeoConfig:
    model = ModelConfig(
        query_size=(128, 128),
        reference_size=256,
        backbone=BackboneConfig(
            embed_dim=32, depths=(1, 1, 2, 1), num_heads=(1, 2, 4, 8), window_size=8, drop_path_rate=0.0
        ),
        encoder=EncoderConfig(dim=96, num_layers=2, num_heads=4, window_size=8),
        moe=MoEConfig(num_experts=6, top_k=2, hidden_ratio=2.0),
        head=HeadConfig(stride=8, num_layers=1, hidden=64),
    )
    train = TrainConfig(epochs=10, batch_size=16, lr=4e-4, min_lr=2e-5, warmup_epochs=1.0, out_dir="runs/tiny")
    return SMGeoConfig(model=model, train=train, data=DataConfig(num_workers=1, decode_cache=True))


PRESETS = {"swin_t": _swin_t, "tiny": _tiny}


def preset(name: str) -> SMGeoConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]()


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict (tuples become lists), fit for JSON, YAML and checkpoints."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"moe": {"top_k": 2}}} -> {"model.moe.top_k": 2}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differing_fields(
    first: dict[str, Any], second: dict[str, Any], ignored: frozenset[str] = frozenset()
) -> list[tuple[str, Any, Any]]:
    """(dotted name, first's value, second's value) of every field outside `ignored` where two config dicts differ."""
    ours, theirs = flatten(first), flatten(second)
    keys = sorted(key for key in ours.keys() | theirs.keys() if key not in ignored)
    return [(key, ours.get(key), theirs.get(key)) for key in keys if ours.get(key) != theirs.get(key)]


def _coerce(value: Any, current: Any, name: str) -> Any:
    if isinstance(current, tuple) and isinstance(value, list | tuple):
        return tuple(value)
    if isinstance(current, bool) and not isinstance(value, bool):
        raise ValueError(f"{name}: expected true/false, got {value!r}")
    if isinstance(current, int | float) and not isinstance(current, bool) and isinstance(value, str):
        try:  # YAML reads "2e-3" (no dot) as a string
            value = float(value)
        except ValueError:
            raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(current, int) and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def merge(config: Any, changes: dict[str, Any], prefix: str = "") -> Any:
    """A copy of `config` with the fields in `changes` (a nested dict) replaced; unknown keys are errors."""
    known = {f.name: f for f in fields(config)}
    updates = {}
    for key, value in changes.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ValueError(f"unknown config key {name!r}; known here: {sorted(known)}")
        current = getattr(config, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"{name} is a section; give a mapping, not {value!r}")
            updates[key] = merge(current, value, prefix=f"{name}.")
        else:
            updates[key] = _coerce(value, current, name)
    return replace(config, **updates)


def config_from_dict(data: dict[str, Any], base: SMGeoConfig | None = None) -> SMGeoConfig:
    return merge(base or SMGeoConfig(), data)


def parse_override(text: str) -> dict[str, Any]:
    """`model.moe.top_k=1` -> {"model": {"moe": {"top_k": 1}}}; the value is read as YAML."""
    if "=" not in text:
        raise ValueError(f"override {text!r} is not key=value")
    key, raw = text.split("=", 1)
    value: Any = yaml.safe_load(raw)
    for part in reversed(key.strip().split(".")):
        value = {part: value}
    return value


def load_config(source: str = "tiny", overrides: list[str] | tuple[str, ...] = ()) -> SMGeoConfig:
    """A preset name or a YAML file (which may name its `preset:`), then `key=value` overrides."""
    if source in PRESETS:
        config = preset(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"config {source!r} is neither a preset ({sorted(PRESETS)}) nor a file")
        data = yaml.safe_load(path.read_text()) or {}
        config = preset(data.pop("preset", "swin_t"))
        config = merge(config, data)
    for text in overrides:
        config = merge(config, parse_override(text))
    return config
