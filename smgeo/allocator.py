"""Keep the memory of freed tensors for reuse on the CPU, instead of handing it back to the system.

glibc's malloc serves every block over 32 MB (a Swin stage's activations at a 1,024 px reference are 25–100 MB)
with a fresh `mmap` and returns it on free, so each such tensor is written into pages the kernel has to fault in
and zero first: a quarter of a CPU forward went there (docs/benchmarks.md, Allocator). With mmap off and the heap
never trimmed, a freed activation's memory serves the next one. The price: the process keeps its peak memory (a
predictor's peak is one forward's, about 0.2 GB above what it held before on `swin_t`).

Set SMGEO_KEEP_FREED_MEMORY=0 to leave malloc as it is. Elsewhere than glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # mallopt parameters (malloc.h)
NEVER_TRIM = 2**31 - 1


def keep_freed_memory() -> bool:
    """Switch this process's malloc to reuse freed memory; whether it was switched. Safe to call again."""
    if os.environ.get("SMGEO_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # no C library found, or one without mallopt
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))
