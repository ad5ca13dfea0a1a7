"""The predictor's inference options: bf16 autocast (checked on the CPU against fp32), TF32 flags set for the call
and restored, channels-last and torch.compile plumbing. The CUDA-only effects (TF32, channels-last speed) need a GPU:
`smgeo bench` on one measures them (smgeo.bench.CUDA_MODES)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from smgeo.checkpoint import save_checkpoint
from smgeo.config import load_config
from smgeo.model import build_model
from smgeo.predictor import InferenceOptions, Predictor, inference_context, prepare_model

SMALL = ["model.reference_size=128", "model.query_size=[64, 64]", "model.encoder.dim=32", "model.encoder.num_heads=2"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = load_config("tiny", SMALL)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    return save_checkpoint(path, config, build_model(config.model).state_dict())


def images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)


def test_auto_precision_is_bf16_on_cuda_and_fp32_on_the_cpu() -> None:
    auto = InferenceOptions()
    assert auto.bf16(torch.device("cuda")) and not auto.bf16(torch.device("cpu"))
    assert InferenceOptions(precision="bf16").bf16(torch.device("cpu"))
    assert not InferenceOptions(precision="fp32").bf16(torch.device("cuda"))
    with pytest.raises(ValueError, match="precision"):
        InferenceOptions(precision="fp16")


def test_bf16_autocast_on_the_cpu_stays_close_to_fp32(checkpoint: Path) -> None:
    query, reference = images()
    fp32 = Predictor(checkpoint, device="cpu").predict(query, reference, (30, 30))
    bf16 = Predictor(checkpoint, device="cpu", options=InferenceOptions(precision="bf16")).predict(
        query, reference, (30, 30)
    )
    assert np.abs(bf16.heatmap - fp32.heatmap).max() < 0.02  # probabilities; bf16 keeps about 3 digits
    assert np.abs(np.array(bf16.box) - np.array(fp32.box)).max() < 8  # pixels of a 128-pixel reference


def test_inference_context_runs_autocast_and_restores_the_tf32_flags() -> None:
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    with inference_context(InferenceOptions(precision="bf16"), torch.device("cpu")):
        assert torch.is_autocast_enabled("cpu") and not torch.is_grad_enabled()
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
    with inference_context(InferenceOptions(), torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")


def test_channels_last_is_for_cuda_and_compile_wraps_the_same_weights() -> None:
    torch.manual_seed(0)
    model = build_model(load_config("tiny", SMALL).model)
    same = prepare_model(model, InferenceOptions(channels_last=True), torch.device("cpu"))
    assert same is model and model.head.trunk[0].weight.is_contiguous()  # the CPU keeps NCHW (not faster there)
    compiled = prepare_model(model, InferenceOptions(compile=True), torch.device("cpu"))
    assert isinstance(compiled, torch._dynamo.eval_frame.OptimizedModule) and compiled._orig_mod is model
    # Not called here: the first call builds inductor's C++ kernels, too slow for a unit test on a shared 2-core
    # machine; `smgeo bench` on CUDA runs the compiled model and records its time or its error (compile_*).
