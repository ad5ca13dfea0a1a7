"""Benchmark (`make bench`, never part of the test run): a batch re-prediction's targets localized together
(workers.localize.localize_many, TARGETS_PER_PASS at a time, their windows batched across targets) against the
same targets localized one at a time, interleaved in one run on the demo model and a synthetic mission.

Each repetition starts with an empty reference-feature cache (a new model version's batch starts cold), so both
ways pay for every window's reference backbone once. Writes docs/results/bench_batch_predict.json.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest
import torch

from localization.models import Target
from tests.workers.synthetic_mission import build_synthetic_mission, click, mission_files
from workers.localize import TARGETS_PER_PASS, WINDOWS_PER_BATCH, localize, localize_many
from workers.predictors import predictor_for

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

REPEATS = 7
OUT = Path(__file__).resolve().parents[2] / "docs" / "results" / "bench_batch_predict.json"


def mission_targets(mission) -> list[Target]:  # noqa: ANN001
    """Per drone photo: its GPS click, and the same click with three drawn search windows — a mission's mix."""
    bodies = []
    for index in range(len(mission.truth)):
        bodies.append(click(mission, index))
        for x0 in (100, 200, 300):
            bodies.append(click(mission, index, search_window=[x0, 150, x0 + 700, 850]))
    related = ("drone_image", "basemap", "mission__team")
    return list(Target.objects.select_related(*related).filter(id__in=[b["id"] for b in bodies]).order_by("id"))


def timed(fn) -> float:  # noqa: ANN001
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def test_targets_localized_together_against_one_at_a_time(tmp_path) -> None:  # noqa: ANN001
    folder = tmp_path / "mission"
    mission_files(folder)
    mission = build_synthetic_mission(folder)
    targets = mission_targets(mission)
    version = mission.version
    predictor = predictor_for(version)

    def one_at_a_time() -> None:
        predictor.reference_cache.clear()
        for target in targets:
            localize(target, version)

    def together() -> None:
        predictor.reference_cache.clear()
        for start in range(0, len(targets), TARGETS_PER_PASS):
            results = localize_many(targets[start : start + TARGETS_PER_PASS], version)
            assert not [r for r in results if isinstance(r, Exception)], results

    one_at_a_time(), together()  # warm-up: the model loaded, the COG's pages in the OS cache
    alone, grouped = [], []
    for _ in range(REPEATS):
        alone.append(timed(one_at_a_time))
        grouped.append(timed(together))
    alone_s, grouped_s = statistics.median(alone), statistics.median(grouped)
    report = {
        "command": "bash deploy/local/test.sh -m bench tests/benchmarks/test_bench_batch_predict.py -s (make bench)",
        "targets": len(targets),
        "targets_per_pass": TARGETS_PER_PASS,
        "windows_per_batch": WINDOWS_PER_BATCH,
        "repeats": REPEATS,
        "torch_threads": torch.get_num_threads(),
        "device": str(predictor.device),
        "one_at_a_time_s": alone,
        "together_s": grouped,
        "one_at_a_time_targets_per_s": round(len(targets) / alone_s, 2),
        "together_targets_per_s": round(len(targets) / grouped_s, 2),
        "speedup": round(alone_s / grouped_s, 3),  # of the medians; and the median of each repetition's ratio:
        "paired_speedup_median": round(statistics.median(a / g for a, g in zip(alone, grouped, strict=True)), 3),
        "model": "the committed demo model (tiny preset), reference cache emptied before each repetition",
    }
    print(json.dumps({k: v for k, v in report.items() if not k.endswith("_s")}, indent=2))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
