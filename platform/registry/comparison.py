"""Two model versions compared on the same labels, click by click (no Django: plain numbers in, a JSON dict out).

A label is a hit when the version's box overlaps the reviewed box with IoU > 0.5. The comparison is paired: the
labels where the new version hits and the base misses ("better") against the reverse ("worse"); the difference of
the two accuracies with a 95 % interval (normal approximation of the paired difference), and the exact two-sided
sign test on better vs worse. A gain is beyond noise when more labels got better than worse and the sign test
gives p < 0.05; a comparison on fewer than `min_n` labels is weak whatever it shows.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

HIT_IOU = 0.5
SIGNIFICANCE = 0.05
Z_95 = 1.959964


def set_info(kind: str, name: str, sample_ids: Iterable[int]) -> dict[str, Any]:
    """What a metric was measured on: {"id", "name", "kind", "n"}; the id is a digest of the very labels, so two
    numbers with the same id were measured on the same labels."""
    ids = sorted(int(i) for i in sample_ids)
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:10]
    return {"id": f"{kind}:{digest}", "name": name, "kind": kind, "n": len(ids)}


def sign_test_p(better: int, worse: int) -> float:
    """Exact two-sided binomial test of better vs worse under "no difference" (p = 0.5); 1.0 with no discordant
    labels."""
    trials = better + worse
    if trials == 0:
        return 1.0
    tail = sum(math.comb(trials, k) for k in range(min(better, worse) + 1)) / 2**trials
    return min(1.0, 2 * tail)


def paired_comparison(
    base_iou: Mapping[int, float], new_iou: Mapping[int, float], measured_on: dict[str, Any], min_n: int
) -> dict[str, Any]:
    """base_iou / new_iou: {label (sample) id: IoU} on the same labels. The comparison as stored with a run."""
    if base_iou.keys() != new_iou.keys():
        raise ValueError("a paired comparison needs both versions measured on the same labels")
    ids = sorted(base_iou)
    n = len(ids)
    base_hit = {i: base_iou[i] > HIT_IOU for i in ids}
    new_hit = {i: new_iou[i] > HIT_IOU for i in ids}
    better = [i for i in ids if new_hit[i] and not base_hit[i]]
    worse = [i for i in ids if base_hit[i] and not new_hit[i]]
    diff = (len(better) - len(worse)) / n if n else 0.0
    spread = math.sqrt(max((len(better) + len(worse)) / n - diff**2, 0.0) / n) if n else 0.0
    p_value = sign_test_p(len(better), len(worse))
    beyond_noise = len(better) > len(worse) and p_value < SIGNIFICANCE
    return {
        "set": measured_on,
        "n": n,
        "min_n": min_n,
        "base_acc": sum(base_hit.values()) / n if n else None,
        "new_acc": sum(new_hit.values()) / n if n else None,
        "diff": diff,
        "ci95": [diff - Z_95 * spread, diff + Z_95 * spread],
        "better": better,
        "worse": worse,
        "p_value": p_value,
        "beyond_noise": beyond_noise,
        "weak": n < min_n,
        "verdict": verdict(n, min_n, len(better), len(worse), p_value, beyond_noise),
    }


def verdict(n: int, min_n: int, better: int, worse: int, p_value: float, beyond_noise: bool) -> str:
    """One sentence an admin can act on."""
    if n == 0:
        return "no held-out labels yet: there is nothing to compare the versions on"
    counts = f"{better} better, {worse} worse of {n} held-out labels (sign test p = {p_value:.2g})"
    if n < min_n:
        return f"weak: {counts}; fewer than the {min_n} labels a comparison needs"
    if beyond_noise:
        return f"better beyond noise: {counts}"
    if worse > better and p_value < SIGNIFICANCE:
        return f"worse beyond noise: {counts}"
    return f"no difference beyond noise: {counts}"


def promotes(comparison: Mapping[str, Any] | None) -> bool:
    """Auto-promote rule: enough held-out labels and a gain beyond noise."""
    return bool(comparison) and not comparison.get("weak", True) and bool(comparison.get("beyond_noise"))


def outcome_counts(comparison: Mapping[str, Any] | None) -> dict[str, int] | None:
    """A stored comparison in counts of held-out labels: {"n", "better" (the new version hits where the base missed),
    "worse" (the reverse), "same" (both hit or both missed)}; None when the run stored no comparison."""
    if not comparison or not isinstance(comparison.get("n"), int):
        return None
    n, better, worse = comparison["n"], len(comparison.get("better", [])), len(comparison.get("worse", []))
    return {"n": n, "better": better, "worse": worse, "same": n - better - worse}
