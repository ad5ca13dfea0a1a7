"""Speed comparisons measured interleaved: on a shared machine two runs made minutes apart compare the load of
the moment, not the code; alternate timed calls of A and B see the same load.

- `compare_against`: this checkout's model against an older commit's (a git worktree), the old one in a child
  process with the worktree first on its path, both with the same weights where shapes match, the same inputs
  and the same thread count. The processes take turns (one waits while the other runs).
- `padding_study`: Swin pads every stage to a multiple of its window; variants of window and input size
  measured for latency and FLOPs, and whether 224-pixel window-7 ImageNet weights still load.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import timm
import torch
from tqdm import tqdm

from smgeo.backbone import SwinBackbone
from smgeo.bench import count_flops, model_inputs, synchronize
from smgeo.config import SMGeoConfig
from smgeo.model import build_model

# A child process: builds its checkout's model, loads the given weights that fit, answers each line with one timed
# batch-1 forward. Old and new both run in one, started alike: neither has the parent's imports or memory.
MODEL_SERVER = r"""
import sys, time, torch
from smgeo.config import load_config
from smgeo.model import build_model
name, weights, inputs, threads, device = sys.argv[1:6]
torch.set_num_threads(int(threads))
device = torch.device(device)
try:
    from smgeo.allocator import keep_freed_memory  # what the checkout's predictor does on the CPU, where it has it
    if device.type == "cpu": keep_freed_memory()
except ImportError:
    pass
model = build_model(load_config(name).model).to(device).eval()
own, given = model.state_dict(), torch.load(weights, weights_only=True)
shared = {k: v for k, v in given.items() if k in own and own[k].shape == v.shape}
model.load_state_dict(shared, strict=False)
try:
    from smgeo.bench import MEASURED  # as the checkout's predictor runs it in fp32, where it has the options
    from smgeo.predictor import prepare_model
    model = prepare_model(model, MEASURED, device)
except ImportError:
    pass
args = [x.to(device) for x in torch.load(inputs, weights_only=True)]
print(len(shared), len(own), flush=True)
for line in sys.stdin:
    if device.type == "cuda": torch.cuda.synchronize(device)
    started = time.perf_counter()
    with torch.no_grad(): model(*args)
    if device.type == "cuda": torch.cuda.synchronize(device)
    print(time.perf_counter() - started, flush=True)
"""


class ModelServer:
    """MODEL_SERVER running on the `smgeo` package of checkout `root`."""

    def __init__(
        self, root: Path, name: str, files: tuple[str, str], device: torch.device, env: dict[str, str] | None = None
    ) -> None:
        argv = [sys.executable, "-c", MODEL_SERVER, name, *files, str(torch.get_num_threads()), str(device)]
        env = {**os.environ, **(env or {}), "PYTHONPATH": str(root)}
        self.process = subprocess.Popen(
            argv, cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.shared, self.total = (int(n) for n in self.process.stdout.readline().split())

    def forward_seconds(self) -> float:
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


# glibc's own switches for what smgeo.allocator.keep_freed_memory sets: the old checkout run with the new one's malloc.
KEEP_FREED_MEMORY_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "2147483647"}


def compare_against(old_root: str | Path, name: str, config: SMGeoConfig, device: torch.device, runs: int) -> dict:
    """Batch-1 forward of preset `name` in this checkout against the same preset at `old_root`: `runs` timed rounds
    after two warm-up rounds, the order rotating, the same weights (where shapes match) and inputs.

    Three processes take turns: the old checkout as its predictor ran, this one as its predictor runs (on the CPU
    it keeps freed memory, smgeo/allocator.py), and the old checkout with that same malloc setting, which isolates
    what the code changes bought from what the allocator bought. Reports the medians, their ratios and the medians
    of the per-round ratios (each round ran seconds apart, so they cancel most of a shared machine's drift)."""
    roots = {"old": Path(old_root).resolve(), "new": Path(__file__).resolve().parents[1]}
    if not (roots["old"] / "smgeo" / "model.py").is_file():
        raise FileNotFoundError(f"{roots['old']} holds no smgeo package")
    torch.manual_seed(0)
    model = build_model(config.model).eval()
    cpu = device.type == "cpu"
    labels = ["old", "new", "old_same_allocator"] if cpu else ["old", "new"]
    with tempfile.TemporaryDirectory() as tmp:
        files = (f"{tmp}/weights.pt", f"{tmp}/inputs.pt")
        torch.save(model.state_dict(), files[0])
        torch.save(list(model_inputs(config, 1, torch.device("cpu"))), files[1])
        servers = {
            label: ModelServer(roots[label.split("_")[0]], name, files, device,
                               KEEP_FREED_MEMORY_ENV if label == "old_same_allocator" else None)
            for label in labels
        }  # fmt: skip
        times: dict[str, list[float]] = {label: [] for label in labels}
        progress = tqdm(total=runs + 2, desc=f"{name} old/new rounds", unit="round", leave=False, dynamic_ncols=True)
        try:
            for i in range(runs + 2):
                for label in labels[i % len(labels) :] + labels[: i % len(labels)]:
                    seconds = servers[label].forward_seconds()
                    if i >= 2:  # the first two rounds warm up
                        times[label].append(seconds)
                progress.update()
        finally:
            progress.close()
            for server in servers.values():
                server.close()
    medians = {label: statistics.median(values) for label, values in times.items()}
    result = {
        "old_checkout": str(roots["old"]),
        "old_median_s": medians["old"],
        "new_median_s": medians["new"],
        "new_over_old": medians["new"] / medians["old"],
        "new_over_old_paired_median": _paired(times["new"], times["old"]),
        "old_min_s": min(times["old"]),
        "new_min_s": min(times["new"]),
        "runs": runs,
        "threads": torch.get_num_threads(),
        "old_times_s": times["old"],
        "new_times_s": times["new"],
        "old_tensors_given_new_weights": f"{servers['old'].shared} of {servers['old'].total}",
    }
    if cpu:
        result |= {
            "old_same_allocator_median_s": medians["old_same_allocator"],
            "new_over_old_same_allocator": medians["new"] / medians["old_same_allocator"],
            "new_over_old_same_allocator_paired_median": _paired(times["new"], times["old_same_allocator"]),
            "old_same_allocator_times_s": times["old_same_allocator"],
        }
    return result


def _paired(new: list[float], old: list[float]) -> float:
    return statistics.median(n / o for n, o in zip(new, old, strict=True))


PADDING_VARIANTS = {  # label: (backbone window, reference side)
    "window7_1024": (7, 1024),
    "window8_1024": (8, 1024),
    "window7_896": (7, 896),
    "window7_1120": (7, 1120),
}


def padded_sides(side: int, window: int, strides: tuple[int, ...] = (4, 8, 16, 32)) -> list[list[int]]:
    """[tokens a side, after padding to the window] of each Swin stage for a `side`-pixel input."""
    return [[side // s, -(-side // s // window) * window] for s in strides]


def padding_study(config: SMGeoConfig, device: torch.device, runs: int) -> dict:
    """Batch-1 latency of the whole model and of the backbone alone on each view (interleaved over the variants),
    FLOPs for each of PADDING_VARIANTS, and whether a 224-pixel window-7 Swin's weights (random ones, saved as
    timm saves them) load into its backbone."""
    models, inputs, result = {}, {}, {}
    for label, (window, side) in PADDING_VARIANTS.items():
        model_config = replace(
            config.model, reference_size=side, backbone=replace(config.model.backbone, window_size=window)
        )
        variant = replace(config, model=model_config)
        torch.manual_seed(0)
        models[label] = build_model(model_config).to(device).eval()
        inputs[label] = model_inputs(variant, 1, device)
        result[label] = {
            "window": window,
            "reference_size": side,
            "stage_tokens_a_side_padded": padded_sides(side, window),
            "flops_per_pair": count_flops(models[label], inputs[label]),
            "imagenet_224_weights_load": loads_imagenet_weights(models[label].backbone),
        }
    parts = {  # what is timed: the whole model, and the backbone alone (where the padding is) on either view
        "latency_batch1": lambda m, x: m(*x),
        "backbone_reference": lambda m, x: m.backbone(x[1]),
        "backbone_query": lambda m, x: m.backbone(x[0]),
    }
    times = {(label, part): [] for label in models for part in parts}
    for i in range(runs + 1):
        for part, call in parts.items():
            for label, model in models.items():
                synchronize(device)
                started = time.perf_counter()
                with torch.no_grad():
                    call(model, inputs[label])
                synchronize(device)
                if i:  # the first round warms up
                    times[label, part].append(time.perf_counter() - started)
    for (label, part), seconds in times.items():
        result[label][f"{part}_median_s"] = statistics.median(seconds)
        result[label][f"{part}_times_s"] = seconds
    return result


def loads_imagenet_weights(backbone: SwinBackbone) -> dict[str, Any]:
    """Save a randomly initialised timm swin_tiny (224 pixels, window 7: ImageNet's shape) and load it."""
    shape = {key: backbone.swin_args[key] for key in ("embed_dim", "depths", "num_heads")}
    source = timm.create_model(backbone.name, pretrained=False, **shape)
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(source.state_dict(), f"{tmp}/swin224.pt")
        try:
            report = backbone.load_weights(f"{tmp}/swin224.pt")
        except ValueError as exc:
            return {"fits": False, "error": str(exc)[:300]}
    return {"fits": report.fits, "tensors": len(report.loaded)}
