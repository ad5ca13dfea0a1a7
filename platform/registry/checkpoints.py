"""SMGeo checkpoint files, checked without importing smgeo or torch: spooled to a temporary file (hashed on the way),
then read without materialising a tensor (checkpoint_archive.py) and checked for the keys the model loader needs.

The format (written by smgeo.checkpoint.save_checkpoint): a dict {"smgeo_version", "config": {"model", "loss",
"data", "train"}, "model": state dict of tensors, "metrics"?: {...}}.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from core.errors import InvalidInput, TooLarge
from registry.checkpoint_archive import ArchiveReader, TensorInfo

CHUNK_BYTES = 1 << 20
FIELD = "checkpoint"


@dataclass(frozen=True)
class SpooledFile:
    """A local copy of an uploaded or stored file: its path, sha256 (hex) and size in bytes."""

    path: Path
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class CheckpointInfo:
    """What the registry keeps from a checkpoint: its config and metrics as plain JSON."""

    config: dict[str, Any]
    metrics: dict[str, Any]
    smgeo_version: str


def check_size(size_bytes: int | None) -> None:
    """413 when a file is larger than settings.MAX_UPLOAD_BYTES."""
    limit = settings.MAX_UPLOAD_BYTES
    if size_bytes is not None and size_bytes > limit:
        raise TooLarge(f"the checkpoint is {size_bytes} bytes; the limit is {limit} bytes", field=FIELD)


@contextmanager
def spooled(source: IO[bytes]) -> Iterator[SpooledFile]:
    """Copy a readable binary stream to a temporary file (removed afterwards), hashing and size-checking it."""
    digest, size = hashlib.sha256(), 0
    handle, name = tempfile.mkstemp(prefix="smgeo-checkpoint-", suffix=".pt")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in iter(lambda: source.read(CHUNK_BYTES), b""):
                size += len(chunk)
                check_size(size)
                digest.update(chunk)
                out.write(chunk)
        yield SpooledFile(Path(name), digest.hexdigest(), size)
    finally:
        os.remove(name)


def inspect_checkpoint(path: Path) -> CheckpointInfo:
    """The config and metrics of an SMGeo checkpoint; 400 (field "checkpoint") for anything else, 413 naming the
    limit for one that would unpack to too much. No tensor is loaded (registry/checkpoint_archive.py)."""
    with ArchiveReader(path) as archive:
        return _checked(archive.load(), TensorInfo)


def _checked(payload: object, tensor_type: type) -> CheckpointInfo:
    if not isinstance(payload, dict) or "model" not in payload or "config" not in payload:
        raise InvalidInput("the file is not an SMGeo checkpoint: it needs 'model' and 'config' entries", field=FIELD)
    state, config = payload["model"], payload["config"]
    if not isinstance(state, dict) or not state or not all(isinstance(v, tensor_type) for v in state.values()):
        raise InvalidInput("the checkpoint's 'model' must be a non-empty dict of tensors (a state dict)", field=FIELD)
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise InvalidInput("the checkpoint's 'config' must be a dict with a 'model' section", field=FIELD)
    metrics = payload.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise InvalidInput("the checkpoint's 'metrics' must be a dict", field=FIELD)
    try:
        config, metrics = json_safe(config), json_safe(metrics)
        check_sizes(config)
        return CheckpointInfo(config, measured_on(metrics, config), str(payload.get("smgeo_version", "")))
    except ValueError as exc:
        raise InvalidInput(f"the checkpoint's config or metrics cannot be stored: {exc}", field=FIELD) from exc


def measured_on(metrics: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's metrics with what they were measured on ("set", as registry.comparison names sets): smgeo
    keeps the metrics of the val split it picked the checkpoint on."""
    if not metrics or isinstance(metrics.get("set"), dict):
        return metrics
    data_name = (config.get("data") or {}).get("data_name") or "its training data"
    n = metrics.get("n") if isinstance(metrics.get("n"), int) else None
    measured = {"id": f"val:{data_name}", "name": f"{data_name} val (picked the checkpoint)", "kind": "val", "n": n}
    return {**metrics, "set": measured}


MAX_DEPTH = 16  # nesting of a checkpoint's config or metrics (smgeo's own config nests 4 deep)
MAX_VALUES = 20_000  # values in a checkpoint's config or metrics, counting each use of a shared list
SIZE_BOUNDS = {  # what the platform reads from a checkpoint's config, as (section, key): (low, high)
    ("model", "query_size"): (16, 2048),
    ("model", "reference_size"): (32, 4096),
    ("data", "frame_size"): (64, 16384),
    ("data", "reference_extent_m"): (1.0, 100_000.0),
}


def json_safe(value: Any, budget: list[int] | None = None, depth: int = 0) -> Any:
    """Plain JSON: tuples become lists, scalar tensors numbers, non-finite floats null; ValueError for the rest, for
    nesting deeper than MAX_DEPTH and for more than MAX_VALUES values (a shared list counts at each use: a few
    bytes of pickle must not become megabytes of JSON)."""
    budget = budget if budget is not None else [MAX_VALUES]
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(f"it holds more than {MAX_VALUES:,} values")
    if depth > MAX_DEPTH:
        raise ValueError(f"it nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {str(k): json_safe(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, budget, depth + 1) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "numel") and value.numel() == 1:  # a scalar tensor
        return json_safe(value.item(), budget, depth + 1)
    raise ValueError(f"a value of type {type(value).__name__} is not plain JSON")


def check_sizes(config: dict[str, Any]) -> None:
    """ValueError naming the field when a size the platform reads from the config is not a number in its bounds
    (SIZE_BOUNDS): a query size of 20,000 would make every export of the team's labels allocate gigabytes."""
    for (section, key), (low, high) in SIZE_BOUNDS.items():
        part = config.get(section)
        value = part.get(key) if isinstance(part, dict) else None
        if value is None:
            continue
        values = value if isinstance(value, list) and len(value) == 2 else [value]
        for number in values:
            if isinstance(number, bool) or not isinstance(number, int | float) or not low <= number <= high:
                raise ValueError(
                    f"{section}.{key} must be a number from {low:g} to {high:g} (or two of them), got {str(value)[:40]}"
                )
