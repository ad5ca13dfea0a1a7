"""Loading local Swin weights: every usual layout gives the backbone the file's tensors; other models are refused."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import timm
import torch

from smgeo.backbone import SwinBackbone, build_backbone
from smgeo.config import BackboneConfig, preset
from smgeo.model import build_model

SWIN = {"embed_dim": 32, "depths": (1, 1, 2, 1), "num_heads": (1, 2, 4, 8), "window_size": 8}
IMG = 256
State = dict[str, torch.Tensor]


def timm_swin(seed: int = 1, img_size: int = IMG, **changes) -> torch.nn.Module:
    """A randomly initialised timm classification Swin (what timm's own checkpoints hold)."""
    torch.manual_seed(seed)
    return timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, img_size=img_size, **{**SWIN, **changes})


def backbone(weights: str | None = None) -> SwinBackbone:
    torch.manual_seed(0)
    return build_backbone(BackboneConfig(**SWIN, drop_path_rate=0.0, weights=weights), IMG)


def as_body_keys(state: State) -> State:
    """timm's `layers.0.` keys as the backbone's `layers_0.`."""
    return {re.sub(r"^layers\.(\d+)\.", r"layers_\1.", key): value for key, value in state.items()}


def official_layout(model: torch.nn.Module) -> State:
    """A timm Swin's state as Microsoft's release stores it: each downsample at the end of the stage before,
    `head.weight`, and the relative_position_index / attn_mask buffers."""
    state = {}
    for key, value in model.state_dict().items():
        key = re.sub(r"layers\.(\d+)\.downsample", lambda m: f"layers.{int(m.group(1)) - 1}.downsample", key)
        state[key.replace("head.fc.", "head.")] = value
    return {**state, **dict(model.named_buffers())}


def ddp(state: State) -> State:
    return {f"module.{key}": value for key, value in state.items()}


def from_timm(wrap: Callable[[torch.nn.Module], object]) -> Callable[[], tuple[object, State]]:
    def make() -> tuple[object, State]:
        source = timm_swin()
        return wrap(source), as_body_keys(source.state_dict())

    return make


def from_backbone(wrap: Callable[[SwinBackbone], object]) -> Callable[[], tuple[object, State]]:
    def make() -> tuple[object, State]:
        torch.manual_seed(2)
        source = SwinBackbone("swin_tiny_patch4_window7_224", IMG, **SWIN)
        return wrap(source), source.body.state_dict()

    return make


def from_smgeo(wrap: Callable[[State], object]) -> Callable[[], tuple[object, State]]:
    def make() -> tuple[object, State]:
        torch.manual_seed(3)
        model = build_model(preset("tiny").model)
        return wrap(model.state_dict()), model.backbone.body.state_dict()

    return make


FORMATS = {
    "timm": from_timm(lambda m: m.state_dict()),
    "timm, DDP, in state_dict": from_timm(lambda m: {"state_dict": ddp(m.state_dict())}),
    "microsoft": from_timm(lambda m: {"model": official_layout(m)}),
    "microsoft, DDP": from_timm(lambda m: {"model": ddp(official_layout(m))}),
    "our backbone": from_backbone(lambda b: b.state_dict()),
    "our backbone's body": from_backbone(lambda b: b.body.state_dict()),
    "our backbone, DDP, in model": from_backbone(lambda b: {"model": ddp(b.state_dict())}),
    "an SMGeo model": from_smgeo(lambda state: state),
    "an SMGeo checkpoint, DDP": from_smgeo(lambda state: {"config": {}, "model": ddp(state), "step": 3}),
}


@pytest.mark.parametrize("layout", FORMATS)
def test_every_usual_layout_gives_the_backbone_the_files_tensors(layout: str, tmp_path: Path) -> None:
    payload, expected = FORMATS[layout]()
    torch.save(payload, tmp_path / "weights.pt")
    target = backbone()
    report = target.load_weights(tmp_path / "weights.pt")
    own = target.body.state_dict()
    assert all(torch.equal(own[key], expected[key]) for key in own)
    assert report.fits and len(report.loaded) == len(own)


def test_a_classifiers_head_and_final_norm_are_ignored_not_errors(tmp_path: Path) -> None:
    torch.save(timm_swin().state_dict(), tmp_path / "timm.pt")
    report = backbone().load_weights(tmp_path / "timm.pt")
    assert sorted(report.ignored) == ["head.fc.bias", "head.fc.weight", "norm.bias", "norm.weight"]
    assert "4 ignored" in report.summary() and "missing" not in report.summary()


def test_position_bias_tables_are_resized_to_our_window(tmp_path: Path) -> None:
    source = timm_swin(window_size=7, img_size=224)
    torch.save({"model": official_layout(source)}, tmp_path / "window7.pt")
    target = backbone()
    target.load_weights(tmp_path / "window7.pt")
    own, theirs = target.body.state_dict(), source.state_dict()
    table = "layers_2.blocks.1.attn.relative_position_bias_table"
    assert theirs[table.replace("layers_", "layers.")].shape == (13 * 13, 4) and own[table].shape == (15 * 15, 4)
    assert torch.equal(own["layers_2.blocks.1.attn.qkv.weight"], theirs["layers.2.blocks.1.attn.qkv.weight"])


@pytest.mark.parametrize(
    ("other", "problem"),
    [
        ({"depths": (1, 1, 4, 1)}, "unexpected"),  # a deeper Swin (as swin_small is to swin_tiny)
        ({"depths": (1, 1, 1, 1)}, "missing"),
        ({"embed_dim": 48}, "mismatched"),  # a wider Swin (as swin_base is to swin_tiny)
    ],
)
def test_another_swin_is_refused_and_the_backbone_left_as_it_was(other: dict, problem: str, tmp_path: Path) -> None:
    torch.save({"model": official_layout(timm_swin(**other))}, tmp_path / "other-swin.pt")
    target = backbone()
    before = {key: value.clone() for key, value in target.body.state_dict().items()}
    with pytest.raises(ValueError, match=f"other-swin.pt.*{problem}"):
        target.load_weights(tmp_path / "other-swin.pt")
    assert all(torch.equal(value, before[key]) for key, value in target.body.state_dict().items())


def test_a_file_of_another_model_or_no_model_is_refused(tmp_path: Path) -> None:
    torch.save(timm.create_model("resnet18", pretrained=False).state_dict(), tmp_path / "resnet.pt")
    with pytest.raises(ValueError, match="resnet.pt holds no Swin layers"):
        backbone().load_weights(tmp_path / "resnet.pt")
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="notes.pt is not a readable weights file"):
        backbone().load_weights(tmp_path / "notes.pt")


def test_build_backbone_loads_the_configs_weights_unless_asked_not_to(tmp_path: Path) -> None:
    source = timm_swin()
    torch.save(source.state_dict(), tmp_path / "swin.pt")
    loaded = backbone(weights=str(tmp_path / "swin.pt")).body.state_dict()
    assert torch.equal(loaded["patch_embed.proj.weight"], source.state_dict()["patch_embed.proj.weight"])
    config = BackboneConfig(**SWIN, weights=str(tmp_path / "gone.pt"))
    assert build_backbone(config, IMG, load_pretrained=False).channels == [64, 128, 256]
