"""The models a worker process has loaded: one smgeo Predictor per model version, loaded on first use and kept.

A version is keyed by its id and checkpoint sha256; its checkpoint is copied once from storage (filesystem or S3)
into a local cache folder named by the sha256 and checked against it. The few most recently used versions stay
in memory, so a team that activates a new version gets it on its next click, without restarting the worker.
"""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.models import ModelVersion
    from smgeo.predictor import Predictor

MAX_LOADED = 3

_loaded: OrderedDict[tuple[int, str], Predictor] = OrderedDict()
_guard = threading.Lock()


class ModelUnavailable(Exception):
    """The version's checkpoint cannot be read or loaded (the reason is for the user)."""


def predictor_for(version: ModelVersion) -> Predictor:
    """The loaded Predictor of `version` (loading it on first use)."""
    key = (version.id, version.sha256)
    with _guard:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        predictor = _load(version)
        _loaded[key] = predictor
        while len(_loaded) > MAX_LOADED:
            _loaded.popitem(last=False)
        return predictor


def loaded_versions() -> list[int]:
    with _guard:
        return [version_id for version_id, _ in _loaded]


def clear() -> None:
    with _guard:
        _loaded.clear()


def _load(version: ModelVersion) -> Predictor:
    from smgeo.checkpoint import CheckpointError
    from smgeo.predictor import Predictor

    path = local_checkpoint(version)
    try:
        return Predictor(path)
    except CheckpointError as exc:  # only an unreadable copy is dropped; any other error is the job's, file kept
        path.unlink(missing_ok=True)  # a damaged copy is fetched again next time
        raise ModelUnavailable(f"model version {version.name!r} could not be loaded: {exc}") from exc


def cache_dir() -> Path:
    from django.conf import settings

    path = Path(getattr(settings, "MODEL_CACHE_DIR", "") or Path(tempfile.gettempdir()) / "smgeo-model-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_checkpoint(version: ModelVersion) -> Path:
    """A local copy of the version's checkpoint, fetched through the storage API and checked against its sha256."""
    from missions.storage_io import download_atomically

    path = cache_dir() / f"{version.sha256}.pt"
    if path.exists():
        return path
    if not version.checkpoint:
        raise ModelUnavailable(f"model version {version.name!r} has no checkpoint file")
    try:
        sha = download_atomically(version.checkpoint, path)
    except OSError as exc:
        raise ModelUnavailable(f"model version {version.name!r}: its checkpoint could not be read ({exc})") from exc
    if sha != version.sha256:
        path.unlink(missing_ok=True)
        raise ModelUnavailable(f"model version {version.name!r}: the stored checkpoint does not match its checksum")
    return path
