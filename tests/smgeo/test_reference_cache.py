"""A second click on the same reference window skips the reference backbone and answers exactly as the first; the
cache is bounded, and keys tell windows and basemaps apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from smgeo.predictor import Predictor
from smgeo.reference_cache import ReferenceFeatureCache
from tests.smgeo.test_predictor import checkpoint, images  # noqa: F401 - the module's checkpoint fixture


def counted(predictor: Predictor) -> list[int]:
    """How many images the backbone has seen: the query and the reference each pass through it."""
    seen: list[int] = []
    predictor.model.backbone.register_forward_hook(lambda module, args, output: seen.append(args[0].shape[0]))
    return seen


def test_a_repeat_click_reuses_the_reference_features_and_answers_the_same(checkpoint) -> None:  # noqa: F811
    predictor = Predictor(checkpoint, device="cpu")
    query, reference = images(200)
    plain = predictor.predict_batch([(query, reference, (30, 40))])[0]
    seen = counted(predictor)
    first = predictor.predict_batch([(query, reference, (30, 40))], reference_keys=[("basemap", 1)])[0]
    assert seen == [1, 1]  # query and reference
    second = predictor.predict_batch([(query, reference, (55, 20))], reference_keys=[("basemap", 1)])[0]
    again = predictor.predict_batch([(query, reference, (30, 40))], reference_keys=[("basemap", 1)])[0]
    assert seen == [1, 1, 1, 1]  # only the queries: the reference came from the cache
    assert predictor.reference_cache.hits == 2 and predictor.reference_cache.misses == 1
    for cached in (first, again):
        assert cached.box == pytest.approx(plain.box, abs=1e-4) and cached.score == pytest.approx(plain.score, abs=1e-6)
        np.testing.assert_allclose(cached.heatmap, plain.heatmap, atol=1e-6)
    assert second.box != first.box or second.score != first.score  # another click is another answer


def test_a_batch_mixes_cached_and_new_references(checkpoint) -> None:  # noqa: F811
    predictor = Predictor(checkpoint, device="cpu")
    query, reference = images(200)
    other = np.ascontiguousarray(reference[::-1])
    expected = predictor.predict_batch([(query, reference, (30, 40)), (query, other, (30, 40))])
    predictor.predict_batch([(query, reference, (10, 10))], reference_keys=["a"])
    seen = counted(predictor)
    mixed = predictor.predict_batch([(query, reference, (30, 40)), (query, other, (30, 40))], reference_keys=["a", "b"])
    assert seen == [1, 2]  # only the new reference, then both queries
    for got, want in zip(mixed, expected, strict=True):
        assert got.box == pytest.approx(want.box, abs=1e-4)


def test_the_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    cache = ReferenceFeatureCache(max_bytes=3 * 400)
    feature = lambda: [torch.zeros(1, 10, 10)]  # noqa: E731 - 400 bytes
    for key in "abc":
        cache.put(key, feature())
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("d", feature())
    assert cache.get("b") is None and all(cache.get(key) is not None for key in "acd")
    assert cache.bytes == 1200
    cache.put("huge", [torch.zeros(1, 100, 100)])  # larger than the whole cache: not kept
    assert cache.get("huge") is None and cache.bytes == 1200
    cache.clear()
    assert cache.get("a") is None and cache.bytes == 0
    cache.put("a", feature())
    assert cache.get("a") is not None and cache.bytes == 400
