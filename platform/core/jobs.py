"""The life of a background job row (any BackgroundJob model): enqueue on commit, claim, progress, cancel, close.

queued -> running -> succeeded | failed | cancelled. Every function takes the model class and a row id, so the
basemap ingest, the exports and the training runs share one implementation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.celery_app import enqueue
from core.errors import Conflict
from core.models import BackgroundJob, JobStatus

log = logging.getLogger(__name__)

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
QUEUE_DOWN = "the job queue could not be reached ({error}), so the job could not start; retry in a moment"


def job_enqueue_on_commit(model: type[BackgroundJob], job_id: int, task_name: str) -> None:
    """Send `task_name(job_id)` once the current transaction commits."""
    transaction.on_commit(partial(job_send, model, job_id, task_name))


def job_send(model: type[BackgroundJob], job_id: int, task_name: str) -> None:
    """Send the task now and remember its id; a broker that cannot be reached fails the job with the reason, so the
    user can retry instead of waiting on a job nobody runs."""
    try:
        task_id = enqueue(task_name, job_id)
    except Exception as exc:  # any broker or connection error
        log.exception("%s %s: could not enqueue %s", model.__name__, job_id, task_name)
        job_close(model, job_id, JobStatus.FAILED, error=QUEUE_DOWN.format(error=exc))
        return
    model.objects.filter(id=job_id, task_id="").update(task_id=task_id)


@transaction.atomic
def job_claim(model: type[BackgroundJob], job_id: int, task_id: str = "", related: Sequence[str] = ()):  # noqa: ANN201
    """queued -> running, atomically; None when the row is gone or not queued (cancelled, taken, finished). A
    redelivered task (same task id: its first worker died) takes its own running row over."""
    claimable = Q(status=JobStatus.QUEUED)
    if task_id:
        claimable |= Q(status=JobStatus.RUNNING, task_id=task_id, cancel_requested=False)
    job = model.objects.select_for_update().filter(claimable, id=job_id).first()
    if job is None:
        log.info("%s %s not claimed (gone, or not queued)", model.__name__, job_id)
        return None
    job.status, job.started_at, job.finished_at, job.message = JobStatus.RUNNING, timezone.now(), None, "starting"
    job.task_id = task_id or job.task_id
    job.save(update_fields=["status", "started_at", "finished_at", "message", "task_id"])
    return model.objects.select_related(*related).get(id=job_id) if related else job


def job_progress(model: type[BackgroundJob], job_id: int, progress: float, message: str = "") -> bool:
    """Record progress (0..1). Returns True when the worker must stop: cancel requested, or the row is gone or no
    longer running."""
    updated = model.objects.filter(id=job_id, status=JobStatus.RUNNING).update(
        progress=min(max(progress, 0.0), 1.0), message=message[:300]
    )
    return not updated or model.objects.filter(id=job_id, cancel_requested=True).exists()


def job_cancel(job: BackgroundJob, noun: str) -> BackgroundJob:
    """Queued: cancelled at once. Running: the worker is asked to stop (it checks every few seconds). Finished: 409.
    Call inside a transaction; `job` is re-read under a row lock."""
    job = type(job).objects.select_for_update().get(id=job.id)
    if job.status == JobStatus.QUEUED:
        job_finish(job, JobStatus.CANCELLED, "cancelled before it started")
    elif job.status == JobStatus.RUNNING:
        job.cancel_requested, job.message = True, "cancel requested; stopping"
        job.save(update_fields=["cancel_requested", "message"])
    else:
        raise Conflict(f"this {noun} has already {job.status}")
    return job


@transaction.atomic
def job_close(model: type[BackgroundJob], job_id: int, status: JobStatus, error: str = "", message: str = "") -> None:
    """Close a queued or running job (failed with its reason, or cancelled); a finished or missing row is left."""
    job = model.objects.select_for_update().filter(id=job_id).first()
    if job is None or job.is_finished:
        return
    job.error = error[:4000]
    job_finish(job, status, message or status.value, extra=["error"])


def job_finish(
    job: BackgroundJob, status: JobStatus, message: str, progress: float | None = None, extra: Sequence[str] = ()
) -> None:
    """Set the final status, message and time (and progress, and the `extra` fields already set on `job`)."""
    job.status, job.message, job.finished_at = status, message, timezone.now()
    fields = ["status", "message", "finished_at", *extra]
    if progress is not None:
        job.progress = progress
        fields.append("progress")
    job.save(update_fields=fields)
