"""workers.export_cvogl: a mission's approved and corrected targets as a CVOGL-layout dataset (a zip).

The pairs are written by workers.cvogl_labels (the writer the fine-tune uses too); the zip holds
`<name>/<name>_{train,val,test}.pth`, `query/`, `satellite/` and a `manifest.json` that maps every sample back to
its target, review and basemap window.

Celery imports this module before Django is set up: the platform is imported when a task runs.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from config.celery_app import app
from smgeo.data.cvogl import FRAME_SIZE, SPLITS
from workers.cvogl_labels import CONTEXT, ExportError, query_size_of, write_dataset

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5


class ExportCancelled(Exception):
    """Cancel was requested while the export ran."""


def zip_folder(folder: Path, archive: Path) -> Path:
    """Zip a folder's contents (paths relative to it); images stored as they are, the rest deflated."""
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            method = zipfile.ZIP_STORED if path.suffix in (".jpg", ".png") else zipfile.ZIP_DEFLATED
            out.write(path, path.relative_to(folder).as_posix(), compress_type=method)
    return archive


# ------------------------------------------------------------------------------------------- the task
class _Progress:
    """Reports progress at most every PROGRESS_EVERY_S seconds (and at the end); raises ExportCancelled."""

    def __init__(self, job_id: int) -> None:
        self.job_id, self.last = job_id, 0.0

    def __call__(self, done: int, total: int) -> None:
        from exports.services import export_job_progress

        now = time.monotonic()
        if done not in (0, total) and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        if export_job_progress(job_id=self.job_id, progress=0.95 * done / max(total, 1), message=f"{done}/{total}"):
            raise ExportCancelled


@app.task(name="workers.export_cvogl", bind=True, acks_late=True, reject_on_worker_lost=True)
def export_cvogl(self: Any, job_id: int) -> dict[str, Any]:
    """Run one export job: claim it, write the dataset, store the zip; a missing or taken job is skipped.
    acks_late + reject_on_worker_lost: a worker killed mid-export gives the message back, and the redelivered task
    (same id) takes its own running job over."""
    from exports import services

    job = services.export_job_claim(job_id=job_id, task_id=self.request.id or "")
    if job is None:
        return {"job": job_id, "status": "skipped"}
    try:
        count = _export(job)
    except ExportCancelled:
        services.export_job_mark_cancelled(job_id=job_id)
        return {"job": job_id, "status": "cancelled"}
    except Exception as exc:  # every failure is recorded on the job, with its reason
        log.exception("export %s failed", job_id)
        reason = str(exc) if isinstance(exc, ExportError) else f"{type(exc).__name__}: {exc}"
        services.export_job_fail(job_id=job_id, error=reason)
        return {"job": job_id, "status": "failed"}
    return {"job": job_id, "status": "succeeded" if count is not None else "cancelled", "items": count}


def _export(job: Any) -> int | None:
    """Write, zip and store the export of one claimed job; the number of pairs (None: cancelled meanwhile)."""
    from django.utils import timezone

    from exports.services import export_job_finish
    from registry.selectors import reviewed_labels

    labels = list(reviewed_labels(mission_id=job.mission_id))
    if not labels:
        raise ExportError("the mission has no approved or corrected targets any more")
    team = job.mission.team
    query_size = query_size_of(team.active_model.config if team.active_model else None)
    name = f"mission_{job.mission_id}"
    with tempfile.TemporaryDirectory(prefix="smgeo-export-") as tmp:
        root = Path(tmp) / "dataset"
        entries = write_dataset(labels, root, name, query_size, _Progress(job.id))
        manifest = {
            "format": "CVOGL", "name": name, "mission": {"id": job.mission_id, "name": job.mission.name},
            "team": {"id": team.id, "name": team.name}, "exported_at": timezone.now().isoformat(),
            "query_size": list(query_size), "frame_size": FRAME_SIZE, "context": CONTEXT, "items": entries,
            "splits": {split: sum(e["split"] == split for e in entries) for split in SPLITS},
        }  # fmt: skip
        (root / name / "manifest.json").write_text(json.dumps(manifest, indent=1))
        archive = zip_folder(root, Path(tmp) / "export.zip")
        stored = export_job_finish(job_id=job.id, archive_path=archive, item_count=len(entries))
    return len(entries) if stored is not None else None
