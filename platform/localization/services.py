"""Writes of targets: create and retry (the API), claim, prediction_save, fail and requeue (the gpu worker).

Every status change goes through `transitions.advance`. Work is enqueued by task name after the commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role
from accounts.permissions import require_role
from config.celery_app import enqueue
from core.errors import Conflict, InvalidInput, NotFound
from localization import inputs
from localization.models import Prediction, PredictionBatch, Target, TargetStatus
from localization.selectors import targets_for
from localization.transitions import Event, advance, can
from registry.models import ModelVersion

logger = logging.getLogger(__name__)

LOCALIZE_TASK = "workers.localize_target"
CLAIM_RELATED = ("mission__team__active_model", "drone_image", "basemap", "model_version")


@transaction.atomic
def target_create(
    *,
    by: AbstractBaseUser,
    drone_image_id: int,
    basemap_id: int,
    click_x: float,
    click_y: float,
    label: str = "",
    search_window: Sequence[float] | None = None,
    model_version_id: int | None = None,
    idempotency_key: str | None = None,
    search_window_lonlat: Sequence[float] | None = None,
) -> tuple[Target, bool]:
    """A queued target (click in drone-image pixels, window in basemap pixels), localized in the background;
    returns (target, created). A repeat with an idempotency key `by` already used returns the first target."""
    key = inputs.idempotency_key(idempotency_key)
    if key and (existing := targets_for(by).filter(created_by=by, idempotency_key=key).first()):
        return inputs.same_click(existing, key, drone_image_id, basemap_id, click_x, click_y), False
    fields = inputs.target_fields(
        by=by, drone_image_id=drone_image_id, basemap_id=basemap_id, click_x=click_x, click_y=click_y, label=label,
        search_window=search_window, model_version_id=model_version_id, search_window_lonlat=search_window_lonlat,
    )  # fmt: skip
    try:
        with transaction.atomic():
            target = Target.objects.create(**fields, idempotency_key=key, created_by=by)
    except IntegrityError:
        existing = Target.objects.filter(created_by=by, idempotency_key=key).first() if key else None
        if existing is None:
            raise
        return existing, False  # the same key raced in from a second request: the first one's target
    _enqueue_localize(target.id)
    return target, True


@transaction.atomic
def target_retry(*, target_id: int, by: AbstractBaseUser) -> Target:
    """A failed target back on the queue (any team member)."""
    target = _locked(target_id)
    require_role(by, target.mission.team_id, Role.OPERATOR, "retry targets")
    advance(target, Event.RETRY)
    target.error = ""
    target.save(update_fields=["status", "error", "updated_at"])
    _enqueue_localize(target.id)
    return target


def target_claim(*, target_id: int, task_id: str = "") -> Target | None:
    """For the worker: take a queued target (queued -> running), with its images, mission and team joined in.
    A redelivered task (the same task id: its worker died, or it is retrying) takes its own running target over.
    None when the row is gone, in another status, or locked by another worker claiming it right now."""
    with transaction.atomic():
        target = Target.objects.select_for_update(skip_locked=True).filter(pk=target_id).first()
        if target is None:
            return None
        redelivered = bool(task_id) and target.status == TargetStatus.RUNNING and target.task_id == task_id
        if not redelivered and not can(Event.CLAIM, target.status):
            return None
        if not redelivered:
            advance(target, Event.CLAIM)
        target.started_at, target.attempts, target.error = timezone.now(), target.attempts + 1, ""
        target.task_id = task_id or target.task_id
        target.save(update_fields=["status", "started_at", "attempts", "error", "task_id", "updated_at"])
        # relations in a fresh query (a locking query's joins may show rows as they were before a racing commit)
        target = Target.objects.select_related(*CLAIM_RELATED).get(pk=target_id)
    return target


def prediction_save(
    *,
    target_id: int,
    model_version: ModelVersion | int,
    box: Sequence[float],
    box_geojson: dict,
    score: float,
    candidates: Sequence[dict],
    heatmap_png: bytes | None,
    heatmap_window: Sequence[float] | None,
    heatmap_bounds: Sequence[float] | None,
    search_window: Sequence[float] | None,
    search_mode: str,
    latency_ms: float,
    batch: PredictionBatch | int | None = None,
    attempt: int | None = None,
) -> Prediction:
    """For the worker: store a prediction (boxes in basemap pixels, GeoJSON in lon/lat, heatmap PNG) and move the
    target running -> predicted. A batch re-prediction (`batch`) leaves the target's status and current prediction
    alone. `attempt` (the claimed target's `attempts`) refuses a result from a claim that was since requeued.
    NotFound when the target is gone; Conflict when it is no longer running; no file is left behind on error."""
    values = inputs.prediction_values(
        model_version=model_version, box=box, box_geojson=box_geojson, score=score, candidates=candidates,
        heatmap_png=heatmap_png, heatmap_window=heatmap_window, heatmap_bounds=heatmap_bounds,
        search_window=search_window, search_mode=search_mode, latency_ms=latency_ms,
    )  # fmt: skip
    prediction = Prediction(batch_id=getattr(batch, "pk", batch), **values)
    try:
        return _prediction_store(target_id, prediction, heatmap_png, attempt)
    except BaseException:
        if prediction.heatmap:
            prediction.heatmap.storage.delete(prediction.heatmap.name)
        raise


@transaction.atomic
def _prediction_store(
    target_id: int, prediction: Prediction, heatmap_png: bytes | None, attempt: int | None
) -> Prediction:
    target = Target.objects.select_for_update().filter(pk=target_id).first()
    if target is None:
        raise NotFound(f"target {target_id} no longer exists")
    if attempt is not None and attempt != target.attempts:
        raise Conflict(f"target {target_id} was claimed again (attempt {target.attempts}, not {attempt})")
    if prediction.batch_id is None:
        advance(target, Event.PREDICT)
    elif not PredictionBatch.objects.filter(pk=prediction.batch_id, mission_id=target.mission_id).exists():
        raise InvalidInput(f"batch {prediction.batch_id} is not a batch of target {target_id}'s mission", field="batch")
    prediction.target = target
    if heatmap_png is not None:
        prediction.heatmap.save(f"target-{target_id}.png", ContentFile(heatmap_png), save=False)
    prediction.save()
    if prediction.batch_id is None:
        target.prediction, target.error = prediction, ""
        target.save(update_fields=["status", "prediction", "error", "updated_at"])
    return prediction


@transaction.atomic
def target_fail(*, target_id: int, error: str) -> Target | None:
    """For the worker: queued/running -> failed with `error` (words a user can act on). None when the row is gone
    or in another status (e.g. already predicted: a late failure never overwrites a result)."""
    target = Target.objects.select_for_update().filter(pk=target_id).first()
    if target is None or not can(Event.FAIL, target.status):
        logger.info("target %s not failed (%s): %s", target_id, target and target.status or "gone", error)
        return None
    advance(target, Event.FAIL)
    target.error = (error or "").strip() or "the localization failed without saying why"
    target.save(update_fields=["status", "error", "updated_at"])
    return target


@transaction.atomic
def target_requeue(
    *, target_id: int, reason: str = "", updated_before: datetime | None = None, max_attempts: int = 3
) -> Target | None:
    """For the sweep: a target whose worker vanished (running) or whose message was lost (queued) goes back on the
    queue, or fails once it has been claimed `max_attempts` times. None when the row is gone, in another status,
    or changed since `updated_before` (then it is not stale: a worker is on it)."""
    target = Target.objects.select_for_update().filter(pk=target_id).first()
    if target is None or not can(Event.REQUEUE, target.status):
        return None
    if updated_before is not None and target.updated_at >= updated_before:
        return None
    if target.attempts >= max_attempts:
        advance(target, Event.FAIL)
        target.error = f"gave up after {target.attempts} attempts" + (f": {reason}" if reason else "")
        target.save(update_fields=["status", "error", "updated_at"])
        return target
    advance(target, Event.REQUEUE)
    target.save(update_fields=["status", "updated_at"])
    _enqueue_localize(target.id)
    return target


def _locked(target_id: int) -> Target:
    target = Target.objects.select_for_update().filter(pk=target_id).first()
    if target is None:
        raise NotFound("not found")
    return target


def _enqueue_localize(target_id: int) -> None:
    """Send the localize task once the target's row is committed (a worker must be able to read it)."""
    transaction.on_commit(partial(_send_localize, target_id))


def _send_localize(target_id: int) -> None:
    """Send the localize task with a task id written on the target first (a redelivered task recognises its own
    target by it). A broker that is down leaves the target queued: the sweep sends it once the broker is back."""
    task_id = str(uuid.uuid4())
    Target.objects.filter(pk=target_id).update(task_id=task_id)
    try:
        enqueue(LOCALIZE_TASK, target_id, task_id=task_id)
    except Exception:  # any broker or connection error: the click is stored, and nothing is lost
        logger.exception("could not enqueue %s for target %s; the sweep will send it", LOCALIZE_TASK, target_id)


def targets_sweep(*, queued_after_s: float, running_after_s: float, max_attempts: int) -> dict[str, int]:
    """For the periodic sweep: send again the targets still queued after `queued_after_s` (their message was lost,
    or the broker was down at click time), and requeue the targets running for longer than `running_after_s` (their
    worker vanished) — or fail them once claimed `max_attempts` times. Returns how many of each."""
    now = timezone.now()
    counts = {"resent": 0, "requeued": 0, "failed": 0}
    stale_queued = Target.objects.filter(
        status=TargetStatus.QUEUED, updated_at__lt=now - timedelta(seconds=queued_after_s)
    )
    for target_id in stale_queued.values_list("id", flat=True):
        cutoff = now - timedelta(seconds=queued_after_s)
        with transaction.atomic():
            target = (
                Target.objects.select_for_update(skip_locked=True)
                .filter(pk=target_id, status=TargetStatus.QUEUED, updated_at__lt=cutoff)
                .first()
            )
            if target is None:
                continue
            target.save(update_fields=["updated_at"])  # the next sweep waits a full period for this message
            _enqueue_localize(target.id)
        counts["resent"] += 1
    stale_running = Target.objects.filter(
        status=TargetStatus.RUNNING, started_at__lt=now - timedelta(seconds=running_after_s)
    ).values_list("id", flat=True)
    for target_id in stale_running:
        reason = f"its worker stopped answering (running for more than {running_after_s:g} s)"
        target = target_requeue(
            target_id=target_id, reason=reason, updated_before=now - timedelta(seconds=running_after_s),
            max_attempts=max_attempts,
        )  # fmt: skip
        if target is not None:
            counts["failed" if target.status == TargetStatus.FAILED else "requeued"] += 1
    return counts
