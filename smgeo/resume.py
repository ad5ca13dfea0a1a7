"""What a checkpoint must share with a run to be resumed by it: the config (but for a few fields) and the global
batch. Anything else would silently continue another experiment."""

from __future__ import annotations

from typing import Any

from smgeo.config import SMGeoConfig, config_to_dict, differing_fields

# Fields a resumed run may change: where files go, how the data is read, when to stop and how often to log. The
# others shape the model or its training, so a checkpoint that differs in any of them is refused. A new
# train.max_steps stops the run elsewhere, and the cosine then decays over the new length.
RESUMABLE_FIELDS = frozenset(
    {
        "train.out_dir",
        "train.max_steps",
        "train.log_every_steps",
        "data.data_root",
        "data.num_workers",
        "data.decode_cache",
    }
)


class ResumeError(ValueError):
    """A checkpoint that this run cannot continue (another config or another global batch)."""


def resume_differences(saved: SMGeoConfig, config: SMGeoConfig) -> list[str]:
    """'key: checkpoint X, this run Y' for every field outside RESUMABLE_FIELDS where the configs differ."""
    differing = differing_fields(config_to_dict(saved), config_to_dict(config), RESUMABLE_FIELDS)
    return [f"{key}: checkpoint {theirs!r}, this run {ours!r}" for key, theirs, ours in differing]


def check_resumable(payload: dict[str, Any], config: SMGeoConfig, global_batch: int, path: str) -> None:
    """Raise ResumeError naming what differs when the checkpoint `payload` was written by another kind of run."""
    differences = resume_differences(payload["config"], config)
    saved = payload.get("global_batch")  # absent from checkpoints written before it was recorded
    if saved is not None and saved != global_batch:
        differences.append(f"global batch (processes x batch size): checkpoint {saved}, this run {global_batch}")
    if differences:
        raise ResumeError(
            f"cannot resume from {path}, written by a run of another config: {'; '.join(differences)} "
            f"(only {', '.join(sorted(RESUMABLE_FIELDS))} may change)"
        )
