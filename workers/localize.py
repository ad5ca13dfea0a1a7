"""workers.localize_target and workers.repredict_batch (gpu queue): a click in a drone photo -> a box on the basemap.

One localization: choose the search plan (workers.search; sliding windows from smgeo.windows), read each window
as the model's frame (missions.reference_window: the pixels a fine-tune trains on), run the version's predictor
(loaded once per process, workers.predictors), keep the window with the highest peak, and map the box and the
top-K candidates back to basemap pixels and to lon/lat.

Reliability: both tasks are acks_late + reject_on_worker_lost (a worker killed mid-task gives the message back, and
the redelivered task, same task id, takes its own running target over); a soft time limit fails the target with
the reason; database and storage hiccups are retried with backoff, every other error fails the target at once
with a reason the user can read (the user may retry). Celery imports this module before Django is set up.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from config.celery_app import app
from smgeo.windows import sliding_squares
from workers.search import SearchPlan, look_ahead_m, plan_search, reference_extent_m, window_side_px

if TYPE_CHECKING:
    from localization.models import Target
    from registry.models import ModelVersion

log = logging.getLogger(__name__)

WINDOWS_PER_BATCH = 4
DEFAULT_WINDOW_PX = 1024  # without a GSD: the CVOGL frame, in basemap pixels
BATCH_PROGRESS_EVERY_S = 1.0


class LocalizeError(Exception):
    """A localization that cannot be done, with the reason for the user."""


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors worth retrying: the database or the object storage was briefly unreachable."""
    from django.db import InterfaceError, OperationalError

    errors: list[type[BaseException]] = [OperationalError, InterfaceError, ConnectionError, TimeoutError]
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        errors += [BotoConnectionError, HTTPClientError]
    except ImportError:  # pragma: no cover - botocore comes with django-storages[s3]
        pass
    return tuple(errors)


@dataclass
class Localization:
    box: list[float]
    box_geojson: dict
    score: float
    candidates: list[dict]
    heatmap_png: bytes
    heatmap_window: list[float]
    heatmap_bounds: list[float]
    plan: SearchPlan
    latency_ms: float

    def as_prediction(self) -> dict[str, Any]:
        """Keyword arguments of localization.services.prediction_save."""
        return {
            "box": self.box,
            "box_geojson": self.box_geojson,
            "score": self.score,
            "candidates": self.candidates,
            "heatmap_png": self.heatmap_png,
            "heatmap_window": self.heatmap_window,
            "heatmap_bounds": self.heatmap_bounds,
            "search_window": self.plan.window,
            "search_mode": self.plan.mode,
            "latency_ms": self.latency_ms,
        }


# ------------------------------------------------------------------------------------------- the localization
def version_for(target: Target) -> ModelVersion:
    version = target.model_version or target.mission.team.active_model
    if version is None:
        raise LocalizeError("the team has no active model version; an admin must activate one, then retry")
    return version


def search_plan(target: Target, version: ModelVersion) -> SearchPlan:
    from missions.georef import Georef

    basemap, drone = target.basemap, target.drone_image
    if not basemap.width or not basemap.height or not basemap.cog_file:
        raise LocalizeError(f"basemap {basemap.name!r} is not ready (ingest {basemap.status})")
    extent_m = reference_extent_m(version.config, settings.LOCALIZE_REFERENCE_EXTENT_M)
    side = window_side_px(extent_m, basemap.gsd_m, DEFAULT_WINDOW_PX)
    gps_px, ahead_px = None, 0.0
    if drone.gps_lat is not None and drone.gps_lon is not None:
        xs, ys = Georef.of(basemap).to_pixels([drone.gps_lon], [drone.gps_lat])
        gps_px = (xs[0], ys[0])
        if basemap.gsd_m:
            ahead_px = look_ahead_m(drone.rel_alt_m, drone.pitch_deg) / basemap.gsd_m
    return plan_search(
        width=basemap.width, height=basemap.height, side_px=side, drawn=target.search_window,
        gps_px=gps_px, heading_deg=drone.heading_deg, ahead_px=ahead_px,
    )  # fmt: skip


def read_query(target: Target) -> Any:
    from PIL import Image

    with target.drone_image.file.open("rb") as handle, Image.open(handle) as image:
        return image.convert("RGB")


def reference_key(basemap: Any, window: Any) -> tuple:
    """What a window's reference features depend on besides the model (each version has its own predictor): the
    basemap's pixels (its COG's hash changes with a re-ingest) and the window."""
    return (basemap.id, basemap.cog_sha256, window.x0, window.y0, window.side, window.size)


def localize(target: Target, version: ModelVersion) -> Localization:
    """Localize one target's click with `version` (nothing is saved)."""
    from missions.georef import Georef
    from missions.reference_window import ReferenceWindow
    from workers.predictors import predictor_for

    plan = search_plan(target, version)
    predictor = predictor_for(version)
    query, click = read_query(target), (target.click_x, target.click_y)
    squares = (
        [plan.window]
        if plan.mode != "sliding"
        else sliding_squares(target.basemap.width, target.basemap.height, plan.side)
    )
    windows = [ReferenceWindow.of_square(square) for square in squares]
    best, best_window, model_ms = None, None, 0.0
    for start in range(0, len(windows), WINDOWS_PER_BATCH):
        chunk = windows[start : start + WINDOWS_PER_BATCH]
        crops = [window.read(target.basemap) for window in chunk]
        started = time.perf_counter()
        try:
            keys = [reference_key(target.basemap, window) for window in chunk]
            predictions = predictor.predict_batch([(query, crop, click) for crop in crops], reference_keys=keys)
        except ValueError as exc:  # e.g. a click outside the drone image
            raise LocalizeError(str(exc)) from exc
        model_ms += (time.perf_counter() - started) * 1000
        for window, prediction in zip(chunk, predictions, strict=True):
            if best is None or prediction.score > best.score:
                best, best_window = prediction, window
    georef = Georef.of(target.basemap)
    candidates = []
    for candidate in best.candidates:  # boxes in the window's frame pixels
        box = best_window.to_basemap(candidate["box"])
        candidates.append({"box": box, "box_geojson": georef.box_geojson(box), "score": float(candidate["score"])})
    return Localization(
        box=candidates[0]["box"], box_geojson=candidates[0]["box_geojson"], score=float(best.score),
        candidates=candidates, heatmap_png=heatmap_png(best.heatmap), heatmap_window=best_window.bounds,
        heatmap_bounds=georef.bounds_lonlat(best_window.bounds), plan=plan, latency_ms=model_ms,
    )  # fmt: skip


def heatmap_png(heatmap: Any) -> bytes:
    """The heatmap (H, W probabilities) as an RGBA PNG: a warm colour ramp, transparent where the model sees
    nothing, so it can lie over the basemap."""
    import matplotlib
    import numpy as np
    from PIL import Image

    values = np.clip(np.asarray(heatmap, dtype=np.float32) / max(float(np.max(heatmap)), 1e-6), 0.0, 1.0)
    rgba = (matplotlib.colormaps["inferno"](values) * 255).astype(np.uint8)
    rgba[..., 3] = (np.sqrt(values) * 220).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- the tasks
@app.task(
    name="workers.localize_target",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.LOCALIZE_SOFT_TIME_LIMIT_S,
    time_limit=settings.LOCALIZE_SOFT_TIME_LIMIT_S + 30,
    max_retries=settings.LOCALIZE_MAX_RETRIES,
)
def localize_target(self: Any, target_id: int) -> dict[str, Any]:
    """Claim the target, localize it with its version (or the team's active one) and save the prediction."""
    from core.errors import Conflict, NotFound
    from localization.services import prediction_save, target_claim, target_fail

    target = target_claim(target_id=target_id, task_id=self.request.id or "")
    if target is None:
        return {"target": target_id, "status": "skipped"}
    try:
        version = version_for(target)
        result = localize(target, version)
        prediction_save(target_id=target_id, model_version=version, attempt=target.attempts, **result.as_prediction())
    except (Conflict, NotFound) as exc:  # deleted, or requeued and claimed again meanwhile: nothing to do
        log.info("target %s: result dropped (%s)", target_id, exc)
        return {"target": target_id, "status": "dropped"}
    except SoftTimeLimitExceeded:
        limit = settings.LOCALIZE_SOFT_TIME_LIMIT_S
        target_fail(target_id=target_id, error=f"the localization took longer than {limit} s and was stopped; retry")
        return {"target": target_id, "status": "failed"}
    except transient_errors() as exc:
        if self.request.retries < self.max_retries:
            log.warning("target %s: transient error, retrying: %s", target_id, exc)
            raise self.retry(exc=exc, countdown=min(2 ** (self.request.retries + 1), 60)) from exc
        target_fail(
            target_id=target_id, error=f"storage or database unreachable after {self.max_retries} retries: {exc}"
        )
        return {"target": target_id, "status": "failed"}
    except Exception as exc:  # every failure ends as `failed` with its reason, and the user may retry
        log.exception("target %s failed", target_id)
        target_fail(target_id=target_id, error=failure_reason(exc))
        return {"target": target_id, "status": "failed"}
    return {"target": target_id, "status": "predicted", "latency_ms": round(result.latency_ms, 1)}


def failure_reason(exc: BaseException) -> str:
    from core.errors import DomainError
    from workers.predictors import ModelUnavailable

    if isinstance(exc, LocalizeError | ModelUnavailable | DomainError):
        return str(exc)
    return f"the localization failed unexpectedly ({type(exc).__name__}: {exc})"


@app.task(
    name="workers.repredict_batch",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.BATCH_SOFT_TIME_LIMIT_S,
    time_limit=settings.BATCH_SOFT_TIME_LIMIT_S + 60,
)
def repredict_batch(self: Any, batch_id: int) -> dict[str, Any]:
    """Re-predict the targets of a batch with its model version; progress as it goes; cancel between targets.
    The targets keep their status and current prediction: the batch's predictions sit beside them."""
    from core.jobs import job_claim, job_close, job_finish, job_progress
    from core.models import JobStatus
    from localization.models import PredictionBatch, Target
    from localization.services import prediction_save

    batch = job_claim(PredictionBatch, batch_id, self.request.id or "", related=["model_version", "mission"])
    if batch is None:
        return {"batch": batch_id, "status": "skipped"}
    targets = Target.objects.filter(mission_id=batch.mission_id).select_related("drone_image", "basemap", "mission")
    if batch.target_ids:
        targets = targets.filter(id__in=batch.target_ids)
    targets = list(targets.order_by("id"))
    done_ids = set(batch.predictions.values_list("target_id", flat=True))  # a redelivered batch goes on
    failures: list[str] = []
    last_report = 0.0
    try:
        for number, target in enumerate(targets, start=1):
            if target.id not in done_ids:
                try:
                    result = localize(target, batch.model_version)
                    prediction_save(target_id=target.id, model_version=batch.model_version, batch=batch,
                                    **result.as_prediction())  # fmt: skip
                except SoftTimeLimitExceeded:
                    raise
                except Exception as exc:
                    log.warning("batch %s: target %s failed: %s", batch_id, target.id, exc)
                    failures.append(f"target {target.id}: {failure_reason(exc)}")
            now = time.monotonic()
            if number == len(targets) or now - last_report >= BATCH_PROGRESS_EVERY_S:
                last_report = now
                if job_progress(PredictionBatch, batch_id, number / len(targets), f"{number}/{len(targets)} targets"):
                    job_close(PredictionBatch, batch_id, JobStatus.CANCELLED, message=f"cancelled after {number}")
                    return {"batch": batch_id, "status": "cancelled"}
    except SoftTimeLimitExceeded:
        job_close(PredictionBatch, batch_id, JobStatus.FAILED, error="the batch took longer than its time limit")
        return {"batch": batch_id, "status": "failed"}
    batch.refresh_from_db()
    batch.error = "\n".join(failures)[:4000]
    predicted = len(targets) - len(failures)
    job_finish(batch, JobStatus.SUCCEEDED, f"{predicted} predicted, {len(failures)} failed", 1.0, extra=["error"])
    return {"batch": batch_id, "status": "succeeded", "predicted": predicted, "failed": len(failures)}
