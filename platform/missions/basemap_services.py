"""Writes of basemaps: upload (the ingest then runs in the background), retry of a failed ingest, delete."""

from __future__ import annotations

import logging
import uuid
from functools import partial
from pathlib import PurePosixPath

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import Role
from accounts.permissions import require_role
from core.errors import Conflict
from core.jobs import job_enqueue_on_commit
from core.models import JobStatus
from missions.basemap_uploads import check_basemap_upload
from missions.models import Basemap
from missions.storage_io import delete_quietly
from missions.uploads import clean_filename, mission_for_upload

log = logging.getLogger(__name__)
INGEST_TASK = "workers.ingest_basemap"
RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELLED)
RESET_FIELDS = ["status", "progress", "message", "error", "task_id", "started_at", "finished_at", "cancel_requested"]


def basemap_create(
    *, mission_id: int | None, upload: UploadedFile, by: AbstractBaseUser, name: str = "", bounds: object = None
) -> Basemap:
    """Check the upload fully, store it under a generated name and add a queued basemap; its ingest is enqueued once
    the row is committed. Nothing is stored when a check fails; the file is removed when the row cannot be saved.
    `bounds`: [west, south, east, north] in lon/lat (PNG/JPEG only), as "w,s,e,n", a JSON array or a list."""
    mission = mission_for_upload(by, mission_id, "upload basemaps")
    source = check_basemap_upload(upload, bounds)
    original_name = clean_filename(upload.name)
    basemap = Basemap(
        mission=mission,
        name=(name or "").strip() or PurePosixPath(original_name).stem or "basemap",
        source_kind=source.kind,
        source_bounds=source.bounds,
        original_name=original_name,
        created_by=by,
    )
    upload.seek(0)
    basemap.source_file.save(f"{uuid.uuid4().hex}.{source.extension}", upload, save=False)
    try:
        with transaction.atomic():
            basemap.save()
            job_enqueue_on_commit(Basemap, basemap.pk, INGEST_TASK)
    except BaseException:
        basemap.source_file.delete(save=False)
        raise
    return basemap


@transaction.atomic
def basemap_retry(*, basemap: Basemap, by: AbstractBaseUser) -> Basemap:
    """Queue a failed (or cancelled) ingest again; 409 for any other status."""
    require_role(by, basemap.mission.team_id, Role.OPERATOR, "retry basemap ingests")
    locked = Basemap.objects.select_for_update().get(pk=basemap.pk)
    if locked.status not in RETRYABLE:
        raise Conflict(f"only a failed ingest can be retried; this basemap's ingest is {locked.status}")
    locked.status, locked.progress, locked.message, locked.error = JobStatus.QUEUED, 0.0, "", ""
    locked.task_id, locked.started_at, locked.finished_at, locked.cancel_requested = "", None, None, False
    locked.save(update_fields=RESET_FIELDS)
    job_enqueue_on_commit(Basemap, locked.pk, INGEST_TASK)
    return locked


@transaction.atomic
def basemap_delete(*, basemap: Basemap, by: AbstractBaseUser) -> None:
    """Delete a basemap and its files (team admins); 409 while any target uses it."""
    require_role(by, basemap.mission.team_id, Role.ADMIN, "delete basemaps")
    locked = Basemap.objects.select_for_update().get(pk=basemap.pk)
    used_by = locked.targets.count()
    if used_by:
        raise Conflict(f"the basemap is used by {used_by} target(s), so it cannot be deleted", targets=used_by)
    storage, names = locked.source_file.storage, [locked.source_file.name, locked.cog_file.name]
    locked.delete()
    transaction.on_commit(partial(delete_quietly, storage, *names))
