"""`smgeo bench --against`: old and new checkouts timed alternately, with the same weights and inputs."""

from __future__ import annotations

from pathlib import Path

from smgeo.bench_compare import compare_against
from smgeo.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_against_itself_shares_every_weight_and_reports_both_medians() -> None:
    import torch

    result = compare_against(ROOT, "tiny", load_config("tiny"), torch.device("cpu"), runs=2)
    assert (
        result["old_tensors_given_new_weights"].split(" of ")[0] == result["old_tensors_given_new_weights"].split()[-1]
    )
    assert len(result["old_times_s"]) == len(result["new_times_s"]) == 2
    assert result["new_over_old"] == result["new_median_s"] / result["old_median_s"] > 0
    # on the CPU the old checkout also runs with this one's malloc setting, to tell code from allocator
    assert len(result["old_same_allocator_times_s"]) == 2
    assert result["new_over_old_same_allocator"] == result["new_median_s"] / result["old_same_allocator_median_s"]
