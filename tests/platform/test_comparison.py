"""Comparing two versions on the same held-out labels: counts, the interval, the sign test and the verdict."""

from __future__ import annotations

import pytest

from registry.comparison import paired_comparison, promotes, set_info, sign_test_p

HELD_OUT = set_info("held-out", "held-out labels", range(40))


def compared(base: list[float], new: list[float], min_n: int = 20) -> dict:
    return paired_comparison(dict(enumerate(base)), dict(enumerate(new)), HELD_OUT, min_n)


def test_the_sign_test_is_the_exact_binomial() -> None:
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(5, 0) == pytest.approx(2 / 32)  # 5 of 5 better: p = 0.0625, not yet beyond noise
    assert sign_test_p(6, 0) == pytest.approx(2 / 64)
    assert sign_test_p(3, 3) == 1.0 and sign_test_p(0, 6) == sign_test_p(6, 0)


def test_a_paired_comparison_counts_labels_that_got_better_and_worse() -> None:
    base = [0.9] * 10 + [0.2] * 14 + [0.6] * 2
    new = [0.9] * 10 + [0.7] * 12 + [0.2] * 2 + [0.3] * 2
    result = compared(base, new)
    assert result["n"] == 26 and result["better"] == list(range(10, 22)) and result["worse"] == [24, 25]
    assert result["base_acc"] == pytest.approx(12 / 26) and result["new_acc"] == pytest.approx(22 / 26)
    assert result["diff"] == pytest.approx(10 / 26)
    low, high = result["ci95"]
    assert 0 < low < result["diff"] < high < 1
    assert result["beyond_noise"] and not result["weak"] and promotes(result)
    assert result["verdict"].startswith("better beyond noise: 12 better, 2 worse of 26")


def test_few_labels_make_a_weak_comparison_that_never_promotes() -> None:
    result = compared([0.1] * 8, [0.9] * 8)
    assert result["beyond_noise"] and result["weak"] and not promotes(result)
    assert "weak" in result["verdict"] and "fewer than the 20 labels" in result["verdict"]


def test_no_gain_or_a_loss_is_said_so_and_nothing_held_out_is_named() -> None:
    tied = compared([0.9, 0.1] * 15, [0.1, 0.9] * 15)
    assert tied["diff"] == 0 and not tied["beyond_noise"] and tied["verdict"].startswith("no difference beyond noise")
    worse = compared([0.9] * 25, [0.1] * 25)
    assert worse["verdict"].startswith("worse beyond noise") and not promotes(worse)
    empty = paired_comparison({}, {}, set_info("held-out", "held-out labels", []), 20)
    assert empty["n"] == 0 and empty["base_acc"] is None and "no held-out labels" in empty["verdict"]
    with pytest.raises(ValueError, match="same labels"):
        paired_comparison({1: 0.5}, {2: 0.5}, HELD_OUT, 20)


def test_a_set_is_named_by_its_very_labels() -> None:
    assert set_info("held-out", "x", [3, 1, 2])["id"] == set_info("held-out", "y", [1, 2, 3])["id"]
    assert set_info("held-out", "x", [1, 2])["id"] != set_info("held-out", "x", [1, 2, 3])["id"]
    assert set_info("val", "x", [1])["n"] == 1
