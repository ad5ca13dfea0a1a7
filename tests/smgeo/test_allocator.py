"""On the CPU the predictor and the trainer keep freed memory for reuse: a large tensor allocated again after one
was freed lands in pages already mapped, instead of fresh pages the kernel must fault in and zero."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs four layers on a 100 MB tensor six times (each layer's output a new 100 MB tensor, its input freed), and
# prints the page faults of the last four runs: what a predictor's forwards after its first ones cost.
FAULTS = r"""
import resource, sys, torch
from smgeo.allocator import keep_freed_memory
switched = keep_freed_memory() if sys.argv[1] == "keep" else False
layers = torch.nn.Sequential(*[torch.nn.GELU() for _ in range(4)])
x = torch.ones(25 * 2**20)
for run in range(6):
    if run == 2:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    layers(x)
print(switched, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def last_runs(mode: str) -> tuple[str, int]:
    run = subprocess.run([sys.executable, "-c", FAULTS, mode], cwd=ROOT, capture_output=True, text=True, check=True)
    switched, faults = run.stdout.split()
    return switched, int(faults)


def test_freed_activations_are_reused_without_page_faults(monkeypatch) -> None:  # noqa: ANN001
    switched, plain = last_runs("plain")
    assert switched == "False" and plain > 4 * 4 * 20_000  # 100 MB of 4 KB pages per layer and run, faulted in again
    switched, kept = last_runs("keep")
    # (the kernel may reclaim an idle page now and then, so not exactly none)
    assert switched == "True" and kept < plain / 5
    monkeypatch.setenv("SMGEO_KEEP_FREED_MEMORY", "0")  # the switch to leave malloc alone
    switched, faults = last_runs("keep")
    assert switched == "False" and faults > 4 * 4 * 20_000
