"""The worker keys a window's cached reference features by what its pixels depend on: a re-ingested basemap (a new
COG hash) or another window misses the cache; a new model version has its own predictor, so its own cache."""

from __future__ import annotations

from types import SimpleNamespace

from missions.reference_window import ReferenceWindow
from workers.localize import reference_key


def test_the_key_changes_with_the_basemaps_pixels_and_the_window() -> None:
    basemap = SimpleNamespace(id=7, cog_sha256="a" * 64)
    window = ReferenceWindow(100.0, 200.0, 1024.0)
    key = reference_key(basemap, window)
    assert key == reference_key(SimpleNamespace(id=7, cog_sha256="a" * 64), ReferenceWindow(100.0, 200.0, 1024.0))
    assert key != reference_key(SimpleNamespace(id=7, cog_sha256="b" * 64), window)  # re-ingested
    assert key != reference_key(SimpleNamespace(id=8, cog_sha256="a" * 64), window)
    assert key != reference_key(basemap, ReferenceWindow(101.0, 200.0, 1024.0))
    assert key != reference_key(basemap, ReferenceWindow(100.0, 200.0, 512.0))
