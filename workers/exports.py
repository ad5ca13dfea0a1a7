"""workers.export_cvogl: a mission's approved and corrected targets as a CVOGL-layout dataset (a zip).

Each label becomes one pair:
- query: the drone image resized to the team's active model query size (default 256 x 256), the click moved with
  it (pixel centres map to pixel centres, as smgeo's transforms do);
- reference: a square window of the basemap holding the label box, side max(1024, 2.5 x the box's longer side)
  basemap pixels, read from the COG through storage (a rasterio window read, padded with black outside the
  basemap) and resized to 1024 x 1024; the box is given in that 1024 frame. The window is not centred exactly on
  the box: it is shifted by up to a quarter of its side (deterministically, from the review id) so that a model
  trained on these pairs cannot learn "the object is in the middle"; the box always lies wholly inside.
Pairs are split by drone image (sha256 of its id: 80 % train, 10 % val, 10 % test), so that no drone image
feeds two splits. The zip holds `<name>/<name>_{train,val,test}.pth`, `query/`, `satellite/` and a
`manifest.json` that maps every sample back to its target, review and basemap window.

Celery imports this module before Django is set up: the platform is imported when a task runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from config.celery_app import app
from smgeo.data.cvogl import FRAME_SIZE, SPLITS, CVOGLItem, write_images, write_split

if TYPE_CHECKING:
    import rasterio
    from django.db.models.fields.files import FieldFile

    from localization.models import Review

log = logging.getLogger(__name__)

DEFAULT_QUERY_SIZE = (256, 256)  # (height, width)
CONTEXT = 2.5  # the reference window's side, in multiples of the box's longer side (at least FRAME_SIZE px)
MAX_SHIFT = 0.25  # the window centre moves up to this fraction of its side away from the box centre
PROGRESS_EVERY_S = 0.5


class ExportCancelled(Exception):
    """Cancel was requested while the export ran."""


class ExportError(Exception):
    """An export that cannot go on, with a reason the user can act on."""


# ------------------------------------------------------------------------------------------- geometry
def query_size_of(config: dict[str, Any] | None) -> tuple[int, int]:
    """(height, width) of the model's query input from a checkpoint config (`model.query_size`: [h, w] or n)."""
    size = ((config or {}).get("model") or {}).get("query_size")
    if isinstance(size, int) and size > 0:
        return size, size
    if isinstance(size, list | tuple) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        return int(size[0]), int(size[1])
    return DEFAULT_QUERY_SIZE


def split_of(drone_image_id: int) -> str:
    """train / val / test (about 80/10/10) from a hash of the drone image id: the same in every run."""
    bucket = int(hashlib.sha256(f"drone-image:{drone_image_id}".encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "val" if bucket < 90 else "test"


def _shift(key: str) -> tuple[float, float]:
    """Two numbers in [-1, 1] from a key, the same in every run."""
    digest = hashlib.sha256(key.encode()).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "big") / 0xFFFFFFFF * 2 - 1 for i in (0, 4))  # type: ignore[return-value]


def reference_window(box: list[float], width: int, height: int, key: str) -> tuple[int, int, int]:
    """(x0, y0, side) in basemap pixels: a square window holding the box (see the module docstring).

    box: [x1, y1, x2, y2] basemap pixels; width/height: the basemap's size. The window stays inside the basemap
    when the basemap is large enough, else it covers all of it and is padded."""
    x1, y1, x2, y2 = box
    side = max(FRAME_SIZE, math.ceil(CONTEXT * max(x2 - x1, y2 - y1)))
    dx, dy = _shift(key)
    x0 = round((x1 + x2) / 2 + dx * MAX_SHIFT * side - side / 2)
    y0 = round((y1 + y2) / 2 + dy * MAX_SHIFT * side - side / 2)
    return _inside(x0, side, width), _inside(y0, side, height), side


def _inside(start: int, side: int, extent: int) -> int:
    """A window start moved so the window covers as much of [0, extent) as it can: inside it when it fits, else
    over all of it (a box inside the basemap stays inside the window either way)."""
    low, high = sorted((0, extent - side))
    return min(max(start, low), high)


def frame_box(box: list[float], x0: int, y0: int, side: int) -> tuple[float, float, float, float]:
    """A basemap-pixel box in the FRAME_SIZE frame of the window (x0, y0, side)."""
    scale = FRAME_SIZE / side
    x1, y1, x2, y2 = box
    return ((x1 - x0) * scale, (y1 - y0) * scale, (x2 - x0) * scale, (y2 - y0) * scale)


def scale_click(click: tuple[float, float], size: tuple[int, int], to: tuple[int, int]) -> tuple[float, float]:
    """A click (x, y) in an image of `size` (width, height) -> in the image resized to `to` (width, height)."""
    sx, sy = to[0] / size[0], to[1] / size[1]
    return ((click[0] + 0.5) * sx - 0.5, (click[1] + 0.5) * sy - 0.5)


# ------------------------------------------------------------------------------------------- images
def read_reference(dataset: rasterio.DatasetReader, x0: int, y0: int, side: int) -> Image.Image:
    """The window (x0, y0, side) of an open raster, resampled to FRAME_SIZE squared, as an RGB image."""
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    bands = [1, 2, 3] if dataset.count >= 3 else [1]
    pixels = dataset.read(
        bands, window=Window(x0, y0, side, side), out_shape=(len(bands), FRAME_SIZE, FRAME_SIZE),
        boundless=True, fill_value=0, resampling=Resampling.bilinear,
    )  # fmt: skip
    if pixels.dtype != np.uint8:
        low, high = float(pixels.min()), float(pixels.max())
        pixels = ((pixels - low) / max(high - low, 1e-9) * 255).round().astype(np.uint8)
    if len(bands) == 1:
        pixels = np.repeat(pixels, 3, axis=0)
    return Image.fromarray(np.moveaxis(pixels, 0, -1), "RGB")


def read_query(file: FieldFile, to: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """The drone image resized to `to` (width, height), and its original (width, height)."""
    with file.open("rb") as handle, Image.open(handle) as image:
        return image.convert("RGB").resize(to, Image.BILINEAR), image.size


@contextmanager
def local_path(file: FieldFile) -> Iterator[str]:
    """A local path of a stored file: the file itself on a filesystem storage, else a temporary copy."""
    try:
        path = file.storage.path(file.name)
    except NotImplementedError:  # object storage (S3): no local path
        path = None
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=Path(file.name).suffix) as copy, file.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            copy.write(chunk)
        copy.flush()
        yield copy.name


class Rasters:
    """The basemaps' COGs, each opened once (closed with the ExitStack)."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack, self.open_by_id = stack, {}

    def open(self, basemap: Any) -> rasterio.DatasetReader:
        import rasterio

        if basemap.id not in self.open_by_id:
            if not basemap.cog_file:
                raise ExportError(f"basemap {basemap.name!r} has no COG yet (ingest status: {basemap.status})")
            path = self.stack.enter_context(local_path(basemap.cog_file))
            self.open_by_id[basemap.id] = self.stack.enter_context(rasterio.open(path))
        return self.open_by_id[basemap.id]


# ------------------------------------------------------------------------------------------- dataset
def write_dataset(
    labels: list[Review],
    root: Path,
    name: str,
    query_size: tuple[int, int],
    rasters: Rasters,
    on_progress: Callable[[int, int], None],
) -> list[dict[str, Any]]:
    """Write one pair per label (a Review annotated with `label_box`, its target, drone image and basemap joined)
    under root/name/ in CVOGL layout; returns the manifest entries, one per pair."""
    written: dict[str, list[CVOGLItem]] = {split: [] for split in SPLITS}
    entries, query, query_of = [], None, None
    labels = sorted(labels, key=lambda label: (label.target.drone_image_id, label.target_id))
    on_progress(0, len(labels))
    for done, label in enumerate(labels, start=1):
        target = label.target
        first = query_of != target.drone_image_id
        if first:
            query, query_of = read_query(target.drone_image.file, (query_size[1], query_size[0])), target.drone_image_id
        item, entry = _pair(label, query, first, rasters.open(target.basemap))
        written[entry["split"]] += write_images(root, name, entry["split"], [item])
        entries.append(entry)
        on_progress(done, len(labels))
    for split in SPLITS:
        write_split(root, name, split, written[split])
    return entries


def _pair(
    label: Review, query: tuple[Image.Image, tuple[int, int]], first: bool, raster: rasterio.DatasetReader
) -> tuple[CVOGLItem, dict[str, Any]]:
    """The CVOGL item of one label (its query image only on the first pair of its drone image), and its manifest
    entry."""
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, bounds

    target, box = label.target, [float(v) for v in label.label_box]
    image, original_size = query
    x0, y0, side = reference_window(box, raster.width, raster.height, f"review:{label.id}")
    item = CVOGLItem(
        sample_id=target.id, query_file=f"drone_{target.drone_image_id}.jpg", query_image=image if first else None,
        satellite_file=f"target_{target.id}.jpg", satellite_image=read_reference(raster, x0, y0, side),
        click=scale_click((target.click_x, target.click_y), original_size, image.size),
        box=frame_box(box, x0, y0, side), category=target.label or "object",
    )  # fmt: skip
    window_bounds = bounds(Window(x0, y0, side, side), raster.transform)
    entry = {
        "sample_id": target.id, "split": split_of(target.drone_image_id), "target_id": target.id,
        "review_id": label.id, "drone_image_id": target.drone_image_id, "basemap_id": target.basemap_id,
        "box_px": box, "reference_window_px": [x0, y0, x0 + side, y0 + side],
        "reference_bounds_lonlat": list(transform_bounds(raster.crs, "EPSG:4326", *window_bounds)),
    }  # fmt: skip
    return item, entry


def zip_folder(folder: Path, archive: Path) -> Path:
    """Zip a folder's contents (paths relative to it); JPEGs stored as they are, the rest deflated."""
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            method = zipfile.ZIP_STORED if path.suffix == ".jpg" else zipfile.ZIP_DEFLATED
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
    with tempfile.TemporaryDirectory(prefix="smgeo-export-") as tmp, ExitStack() as stack:
        root = Path(tmp) / "dataset"
        entries = write_dataset(labels, root, name, query_size, Rasters(stack), _Progress(job.id))
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
