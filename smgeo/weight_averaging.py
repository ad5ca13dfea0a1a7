"""WiSE-FT: a fine-tuned model's weights interpolated with its base's, to keep what the base knew."""

from __future__ import annotations

from pathlib import Path

import torch

from smgeo.checkpoint import load_checkpoint, save_checkpoint


def interpolate_checkpoints(base: str | Path, tuned: str | Path, weight: float, out: str | Path) -> Path:
    """out: `weight` x the tuned checkpoint's weights + (1 - weight) x the base's (floating tensors; the others are
    the tuned ones), with the tuned checkpoint's config. ValueError when the two do not hold the same tensors."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the interpolation weight must lie in 0..1, got {weight}")
    base_state, tuned_payload = load_checkpoint(base)["model"], load_checkpoint(tuned)
    tuned_state = tuned_payload["model"]
    if base_state.keys() != tuned_state.keys():
        raise ValueError("the two checkpoints do not hold the same tensors: not a model and its fine-tune")
    mixed = {
        name: torch.lerp(base_state[name], value, weight) if value.is_floating_point() else value
        for name, value in tuned_state.items()
    }
    return save_checkpoint(out, tuned_payload["config"], mixed, wise_weight=weight)
