"""Writes of training runs: triggering (frozen dataset snapshot + enqueue on commit), cancel, and the calls the
fine-tune worker makes as it goes (claim, progress, finish, fail, cancelled).

A run's life: queued -> running -> succeeded | failed | cancelled. A team has at most one queued or running run.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from accounts.models import Role, Team
from accounts.permissions import require_role
from core.errors import Conflict, InvalidInput
from core.jobs import ACTIVE, job_cancel, job_claim, job_close, job_enqueue_on_commit, job_finish
from core.models import JobStatus
from registry.checkpoints import json_safe
from registry.comparison import promotes
from registry.models import ModelVersion, TrainingRun
from registry.selectors import dataset_snapshot, model_versions_usable_by
from registry.services import model_version_activate_unchecked, model_version_register_file

log = logging.getLogger(__name__)

EPOCHS = (1, 200)
STEPS = (1, 20000)
BATCH_SIZE = (1, 256)
MAX_REPLAY = 0.5  # at most half of an epoch's pairs replayed from the base model's data
# A learning rate below 1e-7 changes nothing a fine-tune could measure (1e-320 is a float below the smallest normal);
# above 0.1 AdamW diverges on this model.
MIN_LR, MAX_LR = 1e-7, 0.1


def training_run_create(
    *,
    team: Team,
    by: AbstractBaseUser,
    epochs: int | None = None,
    batch_size: int = 8,
    lr: float | None = None,
    base_version: ModelVersion | None = None,
    replay: float = 0.0,
    steps: int | None = None,
) -> TrainingRun:
    """Queue a fine-tuning run on the team's reviewed labels, frozen now (team admins). The training budget is the
    fine-tune recipe's (smgeo.finetune) unless the run names `steps` or `epochs` (not both); lr None: the recipe's."""
    require_role(by, team.id, Role.ADMIN, "start fine-tuning")
    params = _checked_params(epochs, batch_size, lr, replay, steps)
    try:
        with transaction.atomic():
            run = _create_locked(team, by, params, base_version)
    except IntegrityError:
        raise Conflict("this team already has a training run queued or running; cancel it or wait") from None
    job_enqueue_on_commit(TrainingRun, run.id, "workers.fine_tune")
    return run


def _create_locked(team: Team, by: AbstractBaseUser, params: dict, base: ModelVersion | None) -> TrainingRun:
    team = Team.objects.select_for_update().get(id=team.id)
    base = _checked_base(team, base)
    active = TrainingRun.objects.filter(team=team, status__in=ACTIVE).first()
    if active is not None:
        raise Conflict(f"training run {active.id} is still {active.status}; cancel it or wait", run=active.id)
    label_ids, digest = dataset_snapshot(team.id)
    if not label_ids:
        raise InvalidInput("no reviewed labels yet: approve or correct some predictions first", field="team")
    return TrainingRun.objects.create(
        team=team,
        base_version=base,
        params=params,
        dataset_label_ids=label_ids,
        dataset_hash=digest,
        created_by=by,
        message="waiting for a GPU worker",
    )


def _checked_params(
    epochs: int | None, batch_size: int, lr: float | None, replay: float = 0.0, steps: int | None = None
) -> dict[str, Any]:
    if epochs is not None and steps is not None:
        raise InvalidInput("steps: give the training budget as steps or as epochs, not both", field="steps")
    limits = (("epochs", epochs, EPOCHS), ("steps", steps, STEPS), ("batch_size", batch_size, BATCH_SIZE))
    for field, value, (low, high) in limits:
        if value is None and field != "batch_size":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"{field}: must be a whole number from {low} to {high}", field=field)
    if lr is not None and (not isinstance(lr, int | float) or not math.isfinite(lr) or not MIN_LR <= lr <= MAX_LR):
        raise InvalidInput(f"lr: must be a number from {MIN_LR:g} to {MAX_LR:g}", field="lr")
    if isinstance(replay, bool) or not isinstance(replay, int | float) or not 0 <= replay <= MAX_REPLAY:
        raise InvalidInput(f"replay: must be a share from 0 to {MAX_REPLAY}", field="replay")
    return {"epochs": epochs, "steps": steps, "batch_size": batch_size, "lr": lr, "replay": float(replay)}


def _checked_base(team: Team, base: ModelVersion | None) -> ModelVersion:
    if base is None:
        if team.active_model is None:
            raise InvalidInput("base_version: the team has no active model version; name one", field="base_version")
        return team.active_model
    if not model_versions_usable_by(team.id).filter(id=base.id).exists():
        raise InvalidInput("base_version: no such model version for this team", field="base_version")
    return base


@transaction.atomic
def training_run_cancel(*, run: TrainingRun, by: AbstractBaseUser) -> TrainingRun:
    """Queued: cancelled at once. Running: the worker is asked to stop (within seconds). Finished: 409."""
    require_role(by, run.team_id, Role.ADMIN, "cancel training runs")
    return job_cancel(run, "training run")


# ------------------------------------------------------------------------------------------ worker calls
def training_run_claim(*, run_id: int, task_id: str = "") -> TrainingRun | None:
    """queued -> running, atomically; None when the run is gone or not queued (cancelled, taken, finished). A
    redelivered task (same task id, its first worker died) takes its own running run over."""
    return job_claim(TrainingRun, run_id, task_id, related=["team", "base_version"])


@transaction.atomic
def training_run_progress(
    *,
    run_id: int,
    epoch: int | None = None,
    step: int | None = None,
    total_steps: int | None = None,
    loss: float | None = None,
    eta_s: float | None = None,
    message: str | None = None,
    history: list[dict] | None = None,
    log_text: str = "",
) -> bool:
    """Record progress (history entries and log text are appended). Returns True when the worker must stop:
    cancel was requested, or the run is gone or no longer running."""
    run = TrainingRun.objects.select_for_update().filter(id=run_id).first()
    if run is None or run.status != JobStatus.RUNNING:
        return True
    values = {"epoch": epoch, "step": step, "total_steps": total_steps, "loss": _finite(loss), "eta_s": _finite(eta_s)}
    changed = [name for name, value in values.items() if value is not None]
    for name in changed:
        setattr(run, name, values[name])
    if message is not None:
        run.message = message[:300]
        changed.append("message")
    if history:
        run.history = [*run.history, *json_safe(history)]
        changed.append("history")
    if log_text:
        run.log += log_text
        changed.append("log")
    if run.total_steps:
        run.progress = min(run.step / run.total_steps, 1.0)
        changed.append("progress")
    if changed:
        run.save(update_fields=changed)
    return run.cancel_requested


def training_run_finish(
    *,
    run_id: int,
    checkpoint_path: str | Path,
    base_metrics: dict[str, Any],
    new_metrics: dict[str, Any],
    comparison: dict[str, Any] | None = None,
    forgetting: dict[str, Any] | None = None,
    name: str | None = None,
) -> ModelVersion | None:
    """Register the fine-tuned checkpoint as a team version (parent: the base) and close the run as succeeded;
    auto-promote it when the team asks for that and the paired comparison on the held-out labels (registry.comparison)
    shows a gain beyond noise on enough labels. None when the run was cancelled meanwhile (it is closed as cancelled
    and nothing is registered)."""
    registered: list[ModelVersion] = []
    try:
        with transaction.atomic():
            metrics = [json_safe(m or {}) for m in (base_metrics, new_metrics, comparison, forgetting)]
            return _finish_locked(run_id, Path(checkpoint_path), *metrics, name, registered)
    except BaseException:
        for version in registered:  # the row was rolled back: do not leave its file behind
            version.checkpoint.delete(save=False)
        raise


def _finish_locked(
    run_id: int,
    path: Path,
    base_metrics: dict,
    new_metrics: dict,
    comparison: dict,
    forgetting: dict,
    name: str | None,
    registered: list[ModelVersion],
) -> ModelVersion | None:
    run = TrainingRun.objects.select_for_update().select_related("team", "base_version").get(id=run_id)
    if run.status != JobStatus.RUNNING:
        raise Conflict(f"training run {run_id} is {run.status}, not running")
    if run.cancel_requested:
        job_finish(run, JobStatus.CANCELLED, "cancelled")
        return None
    version, created = model_version_register_file(
        path=path,
        name=name or _version_name(run),
        team=run.team,
        parent=run.base_version,
        training_run=run,
        by=run.created_by,
    )
    if created:
        registered.append(version)
        if new_metrics:
            version.metrics = new_metrics
            version.save(update_fields=["metrics"])
    run.base_metrics, run.new_metrics, run.comparison, run.forgetting = (
        base_metrics,
        new_metrics,
        comparison,
        forgetting,
    )
    job_finish(
        run,
        JobStatus.SUCCEEDED,
        f"registered {version.name}",
        progress=1.0,
        extra=["base_metrics", "new_metrics", "comparison", "forgetting"],
    )
    if run.team.auto_promote and promotes(comparison):
        model_version_activate_unchecked(version=version, team=run.team, reason="auto-promote")
    return version


def _version_name(run: TrainingRun) -> str:
    return f"{run.base_version.name[:100]}+ft{run.id}"


def training_run_fail(*, run_id: int, error: str) -> None:
    """Close a queued or running run as failed with the reason (the active model is left untouched)."""
    job_close(TrainingRun, run_id, JobStatus.FAILED, error=error or "failed without a message")


def training_run_mark_cancelled(*, run_id: int) -> None:
    """Close a run the worker stopped because cancel was requested."""
    job_close(TrainingRun, run_id, JobStatus.CANCELLED, message="cancelled")


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
