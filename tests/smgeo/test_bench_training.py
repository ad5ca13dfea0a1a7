"""The training-speed benchmark reports both rates, their ratio against the target and the loader it used."""

from smgeo.bench_training import TARGET_RATIO, measure_training_loop
from tests.smgeo.conftest import SMALL_OVERRIDES


def test_the_benchmark_reports_loop_and_in_memory_rates_and_their_ratio() -> None:
    report = measure_training_loop(
        "tiny", steps=2, rounds=1, scenes=1, overrides=(*SMALL_OVERRIDES, "data.num_workers=1"), progress=False
    )
    assert report["loop_samples_per_s"] > 0 and report["memory_samples_per_s"] > 0
    assert abs(report["ratio"] - report["loop_samples_per_s"] / report["memory_samples_per_s"]) < 0.01
    assert report["target"] == TARGET_RATIO and report["met"] == (report["ratio"] >= TARGET_RATIO)
    assert report["loader"]["num_workers"] == 1 and report["loader"]["decode_cache"] is True
    assert report["batch_size"] == 2 and report["train_pairs"] == 4


def test_the_baseline_times_the_untuned_loader() -> None:
    overrides = (*SMALL_OVERRIDES, "data.num_workers=1")
    report = measure_training_loop(
        "tiny", steps=2, rounds=1, scenes=1, overrides=overrides, progress=False, baseline=True
    )
    assert report["loader"] == {
        "baseline": True,
        "persistent_workers": False,
        "images": "float32",
        "decode_cache": False,
        "num_workers": 1,
        "augment": True,
    }
