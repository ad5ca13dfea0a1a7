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

WINDOWS_PER_BATCH = 4  # windows through the model in one pass (of one target, or of several in a batch)
TARGETS_PER_PASS = 8  # a batch re-prediction localizes this many targets together (cancel is seen between groups)
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
    """Localize one target's click with `version` (nothing is saved); LocalizeError naming what is wrong."""
    result = localize_many([target], version)[0]
    if isinstance(result, Exception):
        raise result
    return result


@dataclass
class _Search:
    """One target's search in progress: its plan, query and click, its windows, and the best answer so far."""

    target: Target
    plan: SearchPlan
    query: Any
    click: tuple[float, float]
    windows: list[Any]
    best: Any = None
    best_window: Any = None
    model_ms: float = 0.0
    error: Exception | None = None


def localize_many(targets: list[Target], version: ModelVersion) -> list[Localization | Exception]:
    """Localize several targets with one version, their windows run through the model together, WINDOWS_PER_BATCH
    at a time across targets (a batch re-prediction's targets share forward passes). One result per target, in
    order: its Localization, or the exception that stopped it (the others go on)."""
    from workers.predictors import predictor_for

    predictor = predictor_for(version)
    searches: list[_Search | Exception] = []
    for target in targets:
        try:
            searches.append(_search_of(target, version))
        except Exception as exc:  # noqa: BLE001 - reported as this target's result
            searches.append(exc)
    pending = [(search, window) for search in searches if isinstance(search, _Search) for window in search.windows]
    for start in range(0, len(pending), WINDOWS_PER_BATCH):
        chunk = pending[start : start + WINDOWS_PER_BATCH]
        try:
            _run_windows(predictor, chunk)
        except Exception as exc:  # noqa: BLE001 - every target of the pass ends with it (a single one re-raises it)
            for search, _ in chunk:
                search.error = search.error or exc
    return [search if isinstance(search, Exception) else search.error or _result(search) for search in searches]


def _search_of(target: Target, version: ModelVersion) -> _Search:
    """A target's plan, query, click and windows; LocalizeError for a click outside its drone image."""
    from missions.reference_window import ReferenceWindow

    plan = search_plan(target, version)
    query, click = read_query(target), (float(target.click_x), float(target.click_y))
    if not (0 <= click[0] < query.width and 0 <= click[1] < query.height):
        raise LocalizeError(f"click ({click[0]}, {click[1]}) is outside the {query.width}x{query.height} drone image")
    squares = (
        [plan.window]
        if plan.mode != "sliding"
        else sliding_squares(target.basemap.width, target.basemap.height, plan.side)
    )
    return _Search(target, plan, query, click, [ReferenceWindow.of_square(square) for square in squares])


def _run_windows(predictor: Any, chunk: list[tuple[_Search, Any]]) -> None:
    """One forward pass over (search, window) pairs; each search keeps its best window and its share of the time."""
    crops = [window.read(search.target.basemap) for search, window in chunk]
    keys = [reference_key(search.target.basemap, window) for search, window in chunk]
    started = time.perf_counter()
    items = [(search.query, crop, search.click) for (search, _), crop in zip(chunk, crops, strict=True)]
    predictions = predictor.predict_batch(items, reference_keys=keys)
    share_ms = (time.perf_counter() - started) * 1000 / len(chunk)
    for (search, window), prediction in zip(chunk, predictions, strict=True):
        search.model_ms += share_ms
        if search.best is None or prediction.score > search.best.score:
            search.best, search.best_window = prediction, window


def _result(search: _Search) -> Localization:
    """The best window's answer mapped back to basemap pixels and lon/lat."""
    from missions.georef import Georef

    best, window, basemap = search.best, search.best_window, search.target.basemap
    georef = Georef.of(basemap)
    candidates = []
    for candidate in best.candidates:  # boxes in the window's frame pixels
        box = window.to_basemap(candidate["box"])
        candidates.append({"box": box, "box_geojson": georef.box_geojson(box), "score": float(candidate["score"])})
    return Localization(
        box=candidates[0]["box"], box_geojson=candidates[0]["box_geojson"], score=float(best.score),
        candidates=candidates, heatmap_png=heatmap_png(best.heatmap), heatmap_window=window.bounds,
        heatmap_bounds=georef.bounds_lonlat(window.bounds), plan=search.plan, latency_ms=search.model_ms,
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
    if isinstance(exc, FileNotFoundError):  # never the server's paths
        return "a file the localization needs (the drone photo or the basemap) is missing from storage; upload it again"
    if isinstance(exc, OSError):
        reason = exc.strerror or "input/output error"
        return f"the localization could not read its files ({type(exc).__name__}: {reason})"
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
    """Re-predict the targets of a batch with its model version, TARGETS_PER_PASS at a time through the model (their
    windows batched: localize_many); progress as it goes; cancel between groups.
    The targets keep their status and current prediction: the batch's predictions sit beside them."""
    from core.jobs import job_claim, job_close, job_finish, job_progress
    from core.models import JobStatus
    from localization.models import PredictionBatch, Target

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
        for start in range(0, len(targets), TARGETS_PER_PASS):
            group = [target for target in targets[start : start + TARGETS_PER_PASS] if target.id not in done_ids]
            failures += _predict_group(batch, group)
            number, now = min(start + TARGETS_PER_PASS, len(targets)), time.monotonic()
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


def _predict_group(batch: Any, targets: list[Target]) -> list[str]:
    """Localize a group of a batch's targets together and save each prediction; the failures, one line each."""
    from localization.services import prediction_save

    failures = []
    results = localize_many(targets, batch.model_version) if targets else []
    for target, result in zip(targets, results, strict=True):
        try:
            if isinstance(result, Exception):
                raise result
            prediction_save(target_id=target.id, model_version=batch.model_version, batch=batch,
                            **result.as_prediction())  # fmt: skip
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - one target's failure is reported, the batch goes on
            log.warning("batch %s: target %s failed: %s", batch.id, target.id, exc)
            failures.append(f"target {target.id}: {failure_reason(exc)}")
    return failures
