"""A seeded run and an exact resume: seeds, deterministic kernels, and each process's generator states."""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

from smgeo.distributed import DistributedContext, gather_objects


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, numpy and torch (every CUDA device too). `deterministic` also makes cuDNN pick deterministic
    kernels (no benchmarking) and asks torch for deterministic algorithms, warning where an op has none."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS is deterministic only with this
    torch.use_deterministic_algorithms(deterministic, warn_only=True)


def rng_state() -> dict[str, Any]:
    """This process's generator states, as plain values and tensors (loadable with weights_only)."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state() if torch.cuda.is_initialized() else None,
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), position, has_gauss, gauss],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if isinstance(cuda, list) and cuda and torch.cuda.is_available():  # older checkpoints: every device's state
        torch.cuda.set_rng_state_all(cuda)
    elif isinstance(cuda, torch.Tensor) and torch.cuda.is_initialized():
        torch.cuda.set_rng_state(cuda)
    random.setstate(state["python"])
    if state.get("numpy") is not None:
        kind, keys, position, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, np.array(keys, dtype=np.uint32), position, has_gauss, gauss))


def all_rng_states(context: DistributedContext) -> list[dict[str, Any]]:
    """Every rank's generator states, indexed by rank (a collective: call it on every rank)."""
    return gather_objects([rng_state()], context)


def restore_own_rng_state(states: list[dict[str, Any]] | dict[str, Any], rank: int) -> None:
    """Restore this rank's own states from `all_rng_states`' list (older checkpoints held rank 0's dict only)."""
    set_rng_state(states if isinstance(states, dict) else states[rank])
