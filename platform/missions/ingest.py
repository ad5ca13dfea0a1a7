"""The basemap ingest job: the uploaded source in storage -> a Cloud-Optimized GeoTIFF in storage, and the
georeferencing (CRS, transform, size, lon/lat bounds, GSD, zooms) on the Basemap row.

Run by the `workers.ingest_basemap` task on the cpu queue. Idempotent: it claims the row atomically (a queued row,
or a running row of the same Celery task when the message was redelivered after a worker died), writes the COG
under a fresh name, and exits cleanly when the row is gone or was taken by another run.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
import warnings
from pathlib import Path

import rasterio
from django.db.models import Q
from django.utils import timezone
from rasterio._err import CPLE_BaseError
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rio_tiler.io import Reader

from core.errors import DomainError, InvalidInput
from core.models import JobStatus
from missions.cog import georeference_image, write_cog
from missions.models import Basemap
from missions.rasters import check_raster, describe, render_range
from missions.storage_io import delete_quietly, download, sha256_of_path, upload

log = logging.getLogger(__name__)
SKIPPED = "skipped"


def basemap_ingest(*, basemap_id: int, task_id: str = "") -> str:
    """Ingest one basemap to the end. Returns the final status ('succeeded' or 'failed'), or 'skipped' when the
    row is gone or not ours to run."""
    basemap = _claim(basemap_id, task_id)
    if basemap is None:
        log.info("basemap %s: nothing to ingest (gone, or not queued)", basemap_id)
        return SKIPPED
    try:
        with tempfile.TemporaryDirectory(prefix="smgeo-ingest-") as tmp:
            return _ingest(basemap, Path(tmp))
    except DomainError as exc:
        return _fail(basemap, exc.message)
    except (RasterioError, CPLE_BaseError) as exc:  # GDAL's own errors (a block it cannot decode) are CPLE_*
        return _fail(basemap, f"GDAL could not read or convert the raster ({exc}); check the file and upload it again")
    except Exception as exc:
        log.exception("basemap %s: ingest failed", basemap_id)
        return _fail(
            basemap,
            f"the ingest failed unexpectedly ({type(exc).__name__}: {exc}); "
            "press retry, and tell an admin if it fails again",
        )


def _claim(basemap_id: int, task_id: str) -> Basemap | None:
    claimable = Q(status=JobStatus.QUEUED)
    if task_id:
        claimable |= Q(status=JobStatus.RUNNING, task_id=task_id)
    claimed = Basemap.objects.filter(claimable, pk=basemap_id).update(
        status=JobStatus.RUNNING,
        task_id=task_id,
        started_at=timezone.now(),
        finished_at=None,
        progress=0.0,
        message="starting",
        error="",
    )
    return Basemap.objects.filter(pk=basemap_id).first() if claimed else None


def _mine(basemap: Basemap) -> Q:
    """The row, as long as this run still owns it."""
    return Q(pk=basemap.pk, status=JobStatus.RUNNING, task_id=basemap.task_id)


def _progress(basemap: Basemap, progress: float, message: str) -> None:
    Basemap.objects.filter(_mine(basemap)).update(progress=progress, message=message)


def _ingest(basemap: Basemap, tmp: Path) -> str:
    _progress(basemap, 0.05, "copying the upload")
    source = tmp / f"source{Path(basemap.source_file.name).suffix}"
    try:
        download(basemap.source_file, source)
    except FileNotFoundError as exc:
        raise InvalidInput("the uploaded file is missing from storage; upload the basemap again") from exc
    if basemap.source_kind == Basemap.SourceKind.IMAGE:
        _progress(basemap, 0.15, "georeferencing the image from its bounds")
        georeferenced = tmp / "georeferenced.tif"
        georeference_image(source, basemap.source_bounds, georeferenced)
        source = georeferenced
    _progress(basemap, 0.25, "checking the raster")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(source) as ds:
            check_raster(ds)
    _progress(basemap, 0.35, "writing the Cloud-Optimized GeoTIFF with overviews")
    cog = tmp / "cog.tif"
    write_cog(source, cog)
    _progress(basemap, 0.85, "recording the georeferencing")
    fields = cog_fields(cog)
    _progress(basemap, 0.9, "storing the Cloud-Optimized GeoTIFF")
    return _finish(basemap, cog, fields)


def cog_fields(cog: Path) -> dict[str, object]:
    """The Basemap fields that describe a local COG."""
    with rasterio.open(cog) as ds:
        georef = describe(ds)
        ranges = render_range(ds)
    with Reader(str(cog)) as reader:
        min_zoom, max_zoom = reader.minzoom, reader.maxzoom
    return {
        "crs": georef.crs,
        "transform": georef.transform,
        "width": georef.width,
        "height": georef.height,
        "bounds": georef.bounds,
        "gsd_m": georef.gsd_m,
        "min_zoom": max(0, min_zoom),
        "max_zoom": max(0, max_zoom),
        "render_range": ranges,
        "cog_sha256": sha256_of_path(cog),
    }


def _finish(basemap: Basemap, cog: Path, fields: dict[str, object]) -> str:
    field = Basemap._meta.get_field("cog_file")
    name = upload(field.storage, field.generate_filename(basemap, f"{basemap.pk}-{uuid.uuid4().hex[:12]}.tif"), cog)
    updated = Basemap.objects.filter(_mine(basemap)).update(
        cog_file=name,
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        message="ready",
        finished_at=timezone.now(),
        **fields,
    )
    if not updated:  # deleted or re-queued while we worked: leave no orphan COG behind
        delete_quietly(field.storage, name)
        log.info("basemap %s: gone or taken over during the ingest; its COG was discarded", basemap.pk)
        return SKIPPED
    return JobStatus.SUCCEEDED.value


def _fail(basemap: Basemap, reason: str) -> str:
    log.info("basemap %s: ingest failed: %s", basemap.pk, reason)
    Basemap.objects.filter(_mine(basemap)).update(
        status=JobStatus.FAILED, error=reason[:4000], message="failed", finished_at=timezone.now()
    )
    return JobStatus.FAILED.value
