import random

import numpy as np
import torch

from smgeo.determinism import restore_own_rng_state, rng_state, seed_everything


def draws() -> list[float]:
    return [torch.rand(()).item(), random.random(), float(np.random.rand())]


def test_a_seed_fixes_python_numpy_and_torch_and_asks_for_deterministic_kernels() -> None:
    seed_everything(3)
    first = draws()
    seed_everything(3)
    assert draws() == first
    assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
    assert not torch.backends.cudnn.benchmark


def test_a_rank_restores_its_own_random_state_from_a_checkpoint(tmp_path) -> None:
    states, expected = [], []
    for rank in (0, 1):  # what two ranks, seeded differently, save and then draw
        seed_everything(100 + rank)
        states.append(rng_state())
        expected.append(draws())
    torch.save({"rng": states}, tmp_path / "rng.pt")
    saved = torch.load(tmp_path / "rng.pt", weights_only=True)["rng"]  # checkpoints are loaded this way
    for rank in (1, 0):
        seed_everything(0)
        restore_own_rng_state(saved, rank)
        assert draws() == expected[rank]
