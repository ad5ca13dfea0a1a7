"""Speed of the model, measured honestly: every figure is compared with a reference measured in the same run
on the same device (a large GEMM for FLOP/s; all experts computed densely for the sparse MoE).

Latency is the median of at least 10 timed runs after warm-up; CUDA work is synchronised before every
clock read. FLOPs come from torch's own counter (`torch.utils.flop_counter`), counting what actually ran.
"""

from __future__ import annotations

import copy
import platform
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from smgeo.backbone import SwinBackbone
from smgeo.config import SMGeoConfig
from smgeo.model import SMGeo, build_model
from smgeo.moe import SparseMoE
from smgeo.predictor import InferenceOptions, in_model_layout, inference_context, prepare_model


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


MIN_TIMED_S = 1.0  # a call of a few milliseconds is timed at least this long in all: ten runs of it are noise
MAX_RUNS = 2000


def median_seconds(fn: Callable[[], Any], device: torch.device, runs: int, warmup: int, label: str = "") -> dict:
    """Median and spread of at least `runs` timed calls after `warmup` untimed ones; more, up to MAX_RUNS, until
    the timed calls add up to MIN_TIMED_S."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times: list[float] = []
    with tqdm(desc=label or "timing", unit="run", leave=False, dynamic_ncols=True) as progress:
        while len(times) < runs or (sum(times) < MIN_TIMED_S and len(times) < MAX_RUNS):
            started = time.perf_counter()
            fn()
            synchronize(device)
            times.append(time.perf_counter() - started)
            progress.update(1)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": len(times)}


def gemm_flops_per_s(device: torch.device, size: int, dtype: torch.dtype, runs: int = 10) -> dict:
    """FLOP/s of one large square matrix product: the device's practical peak for this dtype."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    timing = median_seconds(lambda: a @ b, device, runs, warmup=3, label=f"gemm {size}")
    flops_per_s = 2 * size**3 / timing["median_s"]
    return {"size": size, "dtype": str(dtype).removeprefix("torch."), **timing, "flops_per_s": flops_per_s}


def model_inputs(config: SMGeoConfig, batch: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    height, width = config.model.query_size
    side = config.model.reference_size
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(batch, 3, height, width, generator=generator).to(device)
    reference = torch.randn(batch, 3, side, side, generator=generator).to(device)
    click = torch.tensor([[width / 2, height / 2]] * batch).to(device)
    return query, reference, click


def count_flops(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> int:
    """FLOPs of one forward. The Swin's attention is counted through its explicit matrix products: torch's counter
    has no formula for the CPU's fused attention kernel, which would leave it out (the encoder's own fused attention
    is left out, as it always was)."""
    swins = [m for m in model.modules() if isinstance(m, SwinBackbone)]
    for swin in swins:
        swin.use_fused_attention(False)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*inputs)
    finally:
        for swin in swins:
            swin.use_fused_attention(True)
    return int(counter.get_total_flops())


@contextmanager
def moe_dispatch(model: torch.nn.Module, dispatch: str):
    """Temporarily run every SparseMoE of `model` with `dispatch` ("sparse" or "dense")."""
    layers = [m for m in model.modules() if isinstance(m, SparseMoE)]
    previous = [m.dispatch for m in layers]
    for m in layers:
        m.dispatch = dispatch
    try:
        yield layers
    finally:
        for m, value in zip(layers, previous, strict=True):
            m.dispatch = value


def moe_tokens(model: SMGeo, inputs: tuple[torch.Tensor, ...]) -> list[tuple[torch.Tensor, ...]]:
    """The exact (tokens, source, scale) each MoE layer sees on `inputs`, captured with forward hooks."""
    captured: list[tuple[torch.Tensor, ...]] = []
    hooks = [
        m.register_forward_hook(lambda _m, args, _out: captured.append(tuple(a.detach() for a in args)))
        for m in model.modules()
        if isinstance(m, SparseMoE)
    ]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return captured


def bench_moe_layers(model: SMGeo, inputs: tuple[torch.Tensor, ...], device: torch.device, runs: int) -> dict:
    """All MoE layers of one forward pass, on their real tokens: sparse dispatch vs every expert on every token."""
    layers = [m for m in model.modules() if isinstance(m, SparseMoE)]
    if not layers:
        return {}
    captured = moe_tokens(model, inputs)

    def run_all() -> None:
        with torch.no_grad():
            for layer, args in zip(layers, captured, strict=True):
                layer(*args)

    result: dict[str, Any] = {
        "layers": len(layers),
        "experts": len(layers[0].experts),
        "top_k": layers[0].router.top_k,
        "tokens_per_layer": int(captured[0][0].shape[0]),
    }
    for dispatch in ("sparse", "dense"):
        with moe_dispatch(model, dispatch):
            result[dispatch] = median_seconds(run_all, device, runs, warmup=2, label=f"moe {dispatch}")
    result["dense_over_sparse"] = result["dense"]["median_s"] / result["sparse"]["median_s"]
    return result


MEASURED = InferenceOptions(precision="fp32", tf32=False, channels_last=False)  # the main measurement's options


def bench_model(
    name: str,
    config: SMGeoConfig,
    device: torch.device,
    gemm: dict,
    runs: int = 10,
    throughput_batch: int = 8,
    extra_modes: bool = False,
) -> dict:
    """Latency at batch 1, throughput at `throughput_batch`, FLOPs per pair, FLOP/s against the GEMM, MoE
    sparse vs dense; on CUDA (`extra_modes`) also TF32, channels-last, bf16 autocast and torch.compile."""
    torch.manual_seed(0)
    model = build_model(config.model).to(device).eval()
    one = model_inputs(config, 1, device)
    many = model_inputs(config, throughput_batch, device)
    flops = count_flops(model, one)
    model = prepare_model(model, MEASURED, device)  # as the predictor runs it in fp32 (its MLPs fused on the CPU)

    def forward(inputs: tuple[torch.Tensor, ...], m: torch.nn.Module = model) -> Callable[[], Any]:
        def call() -> Any:
            with torch.no_grad():
                return m(*inputs)

        return call

    latency = median_seconds(forward(one), device, runs, warmup=3, label=f"{name} batch 1")
    batch = median_seconds(forward(many), device, max(3, runs // 3), warmup=1, label=f"{name} batch {throughput_batch}")
    pairs_per_s = throughput_batch / batch["median_s"]
    with moe_dispatch(model, "dense"):
        dense_latency = median_seconds(forward(one), device, runs, warmup=2, label=f"{name} dense MoE")
    result = {
        "config": name,
        "query_size": list(config.model.query_size),
        "reference_size": config.model.reference_size,
        "params": sum(p.numel() for p in model.parameters()),
        "flops_per_pair": flops,
        "latency_batch1": latency,
        "throughput_batch": throughput_batch,
        "throughput_pairs_per_s": pairs_per_s,
        "achieved_flops_per_s_batch1": flops / latency["median_s"],
        "achieved_flops_per_s_batched": flops * pairs_per_s,
        "ratio_to_gemm_batch1": flops / latency["median_s"] / gemm["flops_per_s"],
        "ratio_to_gemm_batched": flops * pairs_per_s / gemm["flops_per_s"],
        "moe_layers": bench_moe_layers(model, one, device, runs),
        "model_with_dense_moe_latency_batch1": dense_latency,
        "model_dense_moe_over_sparse": dense_latency["median_s"] / latency["median_s"],
        "reference_cache": bench_reference_cache(model, one, device, runs),
    }
    if extra_modes:
        result["cuda"] = bench_cuda_modes(model, one, many, device, runs, throughput_batch)
    return result


def bench_reference_cache(model: SMGeo, inputs: tuple[torch.Tensor, ...], device: torch.device, runs: int) -> dict:
    """A click's model time on a new reference window (its backbone features computed) against a repeat click on the
    same window (the features the predictor cached handed back), timed alternately so both see the same machine."""
    query, reference, click = inputs[:3]
    with torch.no_grad():
        features = model.encode_reference(reference)
    first: list[float] = []
    repeat: list[float] = []
    for _ in range(3):  # warm-up
        _localize(model, query, reference, click, None, device)
        _localize(model, query, reference, click, features, device)
    while len(first) < runs or (sum(first) + sum(repeat) < MIN_TIMED_S and len(first) < MAX_RUNS):
        first.append(_localize(model, query, reference, click, None, device))
        repeat.append(_localize(model, query, reference, click, features, device))
    first_s, repeat_s = statistics.median(first), statistics.median(repeat)
    return {"first_click_s": first_s, "repeat_click_s": repeat_s, "repeat_over_first": repeat_s / first_s,
            "runs": len(first)}  # fmt: skip


def _localize(model: SMGeo, query, reference, click, features, device: torch.device) -> float:  # noqa: ANN001
    synchronize(device)
    started = time.perf_counter()
    with torch.no_grad():
        model.localize(query, reference, click, reference_features=features)
    synchronize(device)
    return time.perf_counter() - started


CUDA_MODES = {  # label: the predictor's options it measures (fp32 without TF32 is the main measurement)
    "tf32": InferenceOptions(precision="fp32", tf32=True, channels_last=False),
    "channels_last_tf32": InferenceOptions(precision="fp32", tf32=True, channels_last=True),
    "bf16": InferenceOptions(precision="bf16", tf32=True, channels_last=False),
    "bf16_channels_last": InferenceOptions(precision="bf16", tf32=True, channels_last=True),  # the predictor's default
    "compile_fp32": InferenceOptions(precision="fp32", tf32=True, channels_last=True, compile=True),
    "compile_bf16": InferenceOptions(precision="bf16", tf32=True, channels_last=True, compile=True),
}


def bench_cuda_modes(
    model: SMGeo, one: tuple, many: tuple, device: torch.device, runs: int, throughput_batch: int
) -> dict:
    """Each of CUDA_MODES (TF32, channels-last, bf16 autocast, torch.compile) at batch 1 and batched."""
    modes: dict[str, Any] = {}
    for label, options in CUDA_MODES.items():
        try:
            m = prepare_model(copy.deepcopy(model), options, device)
            one_t = time_with_options(m, one, options, device, runs, f"{label} batch 1")
            many_t = time_with_options(m, many, options, device, runs, f"{label} batch {throughput_batch}")
            modes[label] = {"latency_batch1": one_t, "throughput_pairs_per_s": throughput_batch / many_t["median_s"]}
        except Exception as exc:  # report a mode that does not work here instead of losing the others
            modes[label] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return modes


def time_with_options(
    model: torch.nn.Module, inputs: tuple, options: InferenceOptions, device: torch.device, runs: int, label: str
) -> dict:
    """median_seconds of `model` (from prepare_model) on `inputs`, as the predictor runs it with `options`."""
    inputs = in_model_layout(inputs, options, device)

    def call() -> Any:
        with inference_context(options, device):
            return model(*inputs)

    return median_seconds(call, device, runs, warmup=5 if options.compile else 3, label=label)


def environment(device: torch.device) -> dict:
    info = {
        "torch": torch.__version__,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    else:
        try:
            for line in open("/proc/cpuinfo").read().splitlines():  # noqa: SIM115
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
    return info
