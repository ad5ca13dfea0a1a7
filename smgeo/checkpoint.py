"""Checkpoints: the resolved config travels with the weights; files are written atomically."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from smgeo import __version__
from smgeo.config import SMGeoConfig, config_from_dict, config_to_dict


class CheckpointError(ValueError):
    """A file that is not a usable SMGeo checkpoint."""


def save_checkpoint(path: str | Path, config: SMGeoConfig, model_state: dict, **extra: Any) -> Path:
    """Write {"config", "model", "smgeo_version", **extra} to `path` via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"smgeo_version": __version__, "config": config_to_dict(config), "model": model_state, **extra}
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(payload, temporary)
    temporary.replace(path)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load safely (weights_only) and check it is an SMGeo checkpoint; adds the parsed "config"."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for truncated or foreign files
        raise CheckpointError(f"{path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or "model" not in payload or "config" not in payload:
        raise CheckpointError(f"{path} is not an SMGeo checkpoint (it lacks 'model' and 'config')")
    try:
        payload["config"] = config_from_dict(payload["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has an unusable config: {exc}") from exc
    return payload


def export_for_inference(source: str | Path, target: str | Path) -> Path:
    """Keep only what inference needs (config, weights, metrics, provenance); drop optimizer state."""
    payload = load_checkpoint(source)
    keep = {
        key: payload[key]
        for key in ("metrics", "epoch", "step", "effective_lr", "global_batch", "provenance")
        if key in payload
    }
    return save_checkpoint(target, payload["config"], payload["model"], **keep)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
