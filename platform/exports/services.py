"""Writes of export jobs: create (enqueue on commit), cancel, and the calls the export worker makes as it goes.

A job's life: queued -> running -> succeeded | failed | cancelled; one queued or running export per mission.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction

from accounts.models import Role
from accounts.permissions import require_role
from core.errors import Conflict, InvalidInput
from core.jobs import ACTIVE, job_cancel, job_claim, job_close, job_enqueue_on_commit, job_finish, job_progress
from core.models import JobStatus
from exports.models import ExportJob
from missions.models import Mission
from registry.selectors import reviewed_labels

log = logging.getLogger(__name__)


def export_job_create(*, mission: Mission, by: AbstractBaseUser) -> ExportJob:
    """Queue a CVOGL-layout export of the mission's approved and corrected targets (team members)."""
    require_role(by, mission.team_id, Role.OPERATOR, "export missions")
    if not reviewed_labels(mission_id=mission.id).exists():
        raise InvalidInput("mission: no approved or corrected targets to export yet", field="mission")
    try:
        with transaction.atomic():
            active = ExportJob.objects.select_for_update().filter(mission=mission, status__in=ACTIVE).first()
            if active is not None:
                raise Conflict(f"export {active.id} of this mission is still {active.status}", export=active.id)
            job = ExportJob.objects.create(mission=mission, created_by=by, message="waiting for a worker")
    except IntegrityError:
        raise Conflict("an export of this mission is already queued or running") from None
    job_enqueue_on_commit(ExportJob, job.id, "workers.export_cvogl")
    return job


@transaction.atomic
def export_job_cancel(*, job: ExportJob, by: AbstractBaseUser) -> ExportJob:
    """Queued: cancelled at once. Running: the worker is asked to stop. Finished: 409."""
    require_role(by, job.mission.team_id, Role.OPERATOR, "cancel exports")
    return job_cancel(job, "export")


# ------------------------------------------------------------------------------------------ worker calls
def export_job_claim(*, job_id: int, task_id: str = "") -> ExportJob | None:
    """queued -> running, atomically; None when the job is gone or not queued."""
    return job_claim(ExportJob, job_id, task_id, related=["mission__team"])


def export_job_progress(*, job_id: int, progress: float, message: str = "") -> bool:
    """Record progress (0..1). Returns True when the worker must stop: cancel requested, or job gone/not running."""
    return job_progress(ExportJob, job_id, progress, message)


def export_job_finish(*, job_id: int, archive_path: str | Path, item_count: int) -> ExportJob | None:
    """Store the zip through storage and close the job as succeeded. None (and nothing kept) when the job was
    cancelled or removed meanwhile."""
    job = ExportJob.objects.select_related("mission").filter(id=job_id).first()
    if job is None or job.status != JobStatus.RUNNING:
        return None
    with Path(archive_path).open("rb") as handle:
        job.file.save(f"mission-{job.mission_id}-cvogl-{job.id}.zip", File(handle), save=False)
    try:
        with transaction.atomic():
            locked = ExportJob.objects.select_for_update().get(id=job_id)
            if locked.status != JobStatus.RUNNING or locked.cancel_requested:
                raise _Abandoned
            locked.file, locked.item_count = job.file.name, item_count
            job_finish(
                locked, JobStatus.SUCCEEDED, f"{item_count} pairs exported", progress=1.0, extra=["file", "item_count"]
            )
    except BaseException as exc:
        job.file.delete(save=False)
        if isinstance(exc, _Abandoned | ExportJob.DoesNotExist):
            export_job_mark_cancelled(job_id=job_id)
            return None
        raise
    return locked


class _Abandoned(Exception):
    """The job was cancelled while its archive was being stored."""


def export_job_fail(*, job_id: int, error: str) -> None:
    job_close(ExportJob, job_id, JobStatus.FAILED, error=error or "failed without a message")


def export_job_mark_cancelled(*, job_id: int) -> None:
    job_close(ExportJob, job_id, JobStatus.CANCELLED)
