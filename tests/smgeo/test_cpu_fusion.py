"""CPU inference runs the linear layers (and each MLP's GELU) through oneDNN: the same outputs as the plain model,
the same weights and state dict, and the plain path wherever the fused one would not give the same (gradients,
autocast)."""

from __future__ import annotations

import copy

import numpy as np
import torch
from timm.layers import Mlp
from torch import nn

from smgeo import cpu_fusion
from smgeo.checkpoint import save_checkpoint
from smgeo.config import load_config
from smgeo.cpu_fusion import FUSED, fuse_for_cpu, unfuse
from smgeo.model import build_model
from smgeo.moe import FeedForward
from smgeo.predictor import InferenceOptions, Predictor
from tests.smgeo.conftest import SMALL_OVERRIDES


def small_model() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    config = load_config("tiny", list(SMALL_OVERRIDES))
    model = build_model(config.model).eval()
    query, reference = torch.randn(2, 3, 64, 64), torch.randn(2, 3, 128, 128)
    return model, (query, reference, torch.tensor([[0.3, 0.6], [0.5, 0.5]]))


def fused_kinds(model: nn.Module) -> set[type]:
    return {type(m) for m in model.modules() if hasattr(m, FUSED)}


def oneDNN_calls(monkeypatch) -> list:  # noqa: ANN001, N802
    """Every input size takes the oneDNN path (at these test sizes all are below MIN_ROWS); the calls, counted."""
    calls, linear = [], cpu_fusion._linear
    monkeypatch.setattr(cpu_fusion, "MIN_ROWS", 0)
    monkeypatch.setattr(cpu_fusion, "_linear", lambda *a: calls.append(a[2]) or linear(*a))
    return calls


def test_fused_model_gives_the_plain_models_outputs_with_the_same_state_dict(monkeypatch) -> None:  # noqa: ANN001
    model, inputs = small_model()
    keys = list(model.state_dict())
    calls = oneDNN_calls(monkeypatch)
    with torch.no_grad():
        plain = model(*inputs)
        assert fuse_for_cpu(model) > 0 and calls == []
        assert fused_kinds(model) == {Mlp, FeedForward, nn.Linear}  # the backbones', the encoder's, the rest
        fused = model(*inputs)
    assert "gelu" in calls and "none" in calls  # MLPs fused with their GELU, other linear layers alone
    assert list(model.state_dict()) == keys
    for name in ("heatmap", "size", "offset"):
        torch.testing.assert_close(fused[name], plain[name], rtol=1e-4, atol=1e-5)
    unfuse(model)
    assert fused_kinds(model) == set()


def test_with_gradients_autocast_or_few_tokens_the_plain_path_runs(monkeypatch) -> None:  # noqa: ANN001
    model, inputs = small_model()
    fuse_for_cpu(model)
    calls, linear = [], cpu_fusion._linear
    monkeypatch.setattr(cpu_fusion, "_linear", lambda *a: calls.append(a) or linear(*a))
    with torch.no_grad():
        model(*inputs)
    # only layers with enough tokens take oneDNN: below MIN_ROWS its call costs more than it saves
    assert calls and all(call[0].shape[0] >= cpu_fusion.MIN_ROWS for call in calls)
    monkeypatch.setattr(cpu_fusion, "MIN_ROWS", 0)
    calls.clear()
    model(*inputs)["heatmap"].sum().backward()  # training-style call: gradients reach the linear layers
    mlp = next(m for m in model.modules() if isinstance(m, Mlp))
    assert mlp.fc1.weight.grad is not None and mlp.fc1.weight.grad.abs().sum() > 0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert model(*inputs)["heatmap"].isfinite().all()
    assert calls == []


def test_a_deep_copy_runs_its_own_weights(monkeypatch) -> None:  # noqa: ANN001
    model, inputs = small_model()
    oneDNN_calls(monkeypatch)
    fuse_for_cpu(model)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        before = model(*inputs)["heatmap"]
        for p in twin.parameters():
            p.add_(0.05)
        assert not torch.allclose(twin(*inputs)["heatmap"], before)
        torch.testing.assert_close(model(*inputs)["heatmap"], before)


def test_the_predictor_fuses_on_the_cpu_unless_told_not_to(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    calls = oneDNN_calls(monkeypatch)
    config = load_config("tiny", list(SMALL_OVERRIDES))
    checkpoint = save_checkpoint(tmp_path / "m.pt", config, build_model(config.model).state_dict())
    query = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    reference = np.random.default_rng(1).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    fused = Predictor(checkpoint, device="cpu")
    plain = Predictor(checkpoint, device="cpu", options=InferenceOptions(fuse_cpu=False))
    assert fused_kinds(fused.model) and not fused_kinds(plain.model)
    a = fused.predict(query, reference, (0.4, 0.5))
    assert calls
    b = plain.predict(query, reference, (0.4, 0.5))
    np.testing.assert_allclose(a.heatmap, b.heatmap, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.box, b.box, atol=1e-2)
