"""Run under torchrun with 2 CPU processes: each rank saves its generator states the way the trainer does, draws,
restores its own state from the gathered list, and draws again.

Writes rank<N>.json with the draws after saving and after restoring."""

import json
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from smgeo.determinism import all_rng_states, restore_own_rng_state, seed_everything
from smgeo.distributed import setup_distributed


def draw() -> list[float]:
    return [torch.rand(()).item(), random.random(), float(np.random.rand())]


def main(out_dir: Path) -> None:
    context = setup_distributed("cpu")
    seed_everything(100 + context.rank)  # the trainer seeds each rank differently
    draw()
    states = all_rng_states(context)
    after_save = draw()
    seed_everything(0)  # a fresh process would start from another state
    restore_own_rng_state(states, context.rank)
    after_restore = draw()
    (out_dir / f"rank{context.rank}.json").write_text(json.dumps({"saved": after_save, "restored": after_restore}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    os._exit(0)
