"""Named random streams for initial weights.

Each model component is built under its own stream, seeded from (seed, component name), instead of taking
its turn on one global stream. So models that differ in one component (the ablation variants) start with
the same weights in every component they share, whatever else they construct.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import torch


def stream_seed(seed: int, name: str) -> int:
    """A 63-bit seed that depends only on `seed` and `name` (stable across processes and Python versions)."""
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@contextmanager
def init_stream(seed: int, name: str) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded from (seed, name); its state is restored afterwards.

    Only the CPU generator is touched (modules are built on the CPU): the CUDA generators keep their state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(stream_seed(seed, name))
        yield


def draw_seed() -> int:
    """One seed drawn from torch's current CPU stream, so a `torch.manual_seed` before still decides the weights."""
    return int(torch.randint(0, 2**62, ()).item())
