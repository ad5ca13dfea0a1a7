"""Validation of what the services receive: a new target's references and click, a worker's prediction.

Each check raises InvalidInput naming the field, before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser

from accounts.models import Role
from accounts.permissions import require_role
from core.errors import Conflict, InvalidInput
from core.models import JobStatus
from localization.lonlat_boxes import lonlat_box_to_pixels, one_of
from localization.models import Target
from localization.pixels import check_box, check_box_inside, check_click, finite
from localization.selectors import model_versions_visible_to
from missions.models import Basemap, DroneImage, Mission
from missions.selectors import basemaps_for, drone_images_for
from registry.models import ModelVersion

MAX_LABEL = 120
MAX_IDEMPOTENCY_KEY = 80
SEARCH_MODES = ("gps", "drawn", "sliding")
MIN_WINDOW_M, MIN_WINDOW_PX = 10.0, 32  # a drawn search window smaller than this could not hold an object
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def idempotency_key(key: str | None) -> str | None:
    key = (key or "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"idempotency_key is longer than {MAX_IDEMPOTENCY_KEY} characters", field="idempotency_key")
    return key or None


def same_click(target: Target, key: str, drone_image_id: int, basemap_id: int, x: float, y: float) -> Target:
    """The target an idempotency key made, when the repeat asks for the same click; else 409."""
    same = (target.drone_image_id, target.basemap_id, target.click_x, target.click_y)
    if same != (drone_image_id, basemap_id, x, y):
        raise Conflict(
            f"idempotency key {key!r} was already used for target {target.id} with another click; use a new key",
            field="idempotency_key",
            target=target.id,
        )
    return target


def target_fields(
    *,
    by: AbstractBaseUser,
    drone_image_id: int,
    basemap_id: int,
    click_x: float,
    click_y: float,
    label: str,
    search_window: Sequence[float] | None,
    model_version_id: int | None,
    search_window_lonlat: Sequence[float] | None = None,
) -> dict[str, object]:
    """The validated fields of a new target; InvalidInput naming the first bad field."""
    drone_image = _drone_image(by, drone_image_id)
    mission = drone_image.mission
    require_role(by, mission.team_id, Role.OPERATOR, "create targets")
    if mission.status == Mission.Status.ARCHIVED:
        raise Conflict(f"mission {mission.name!r} is archived; reactivate it to add targets", field="mission")
    basemap = _basemap(by, basemap_id, drone_image)
    x, y = check_click(click_x, click_y, width=drone_image.width, height=drone_image.height)
    window = None
    one_of(search_window, search_window_lonlat, "search_window")
    if search_window is not None:
        window = check_box_inside(search_window, "search_window", width=basemap.width, height=basemap.height)
        _check_window_size(window, "search_window", basemap)
    elif search_window_lonlat is not None:
        window = lonlat_box_to_pixels(search_window_lonlat, "search_window_lonlat", basemap)
        _check_window_size(window, "search_window_lonlat", basemap)
    label = (label or "").strip()
    if len(label) > MAX_LABEL:
        raise InvalidInput(f"label is longer than {MAX_LABEL} characters", field="label")
    return {
        "mission": mission,
        "drone_image": drone_image,
        "basemap": basemap,
        "click_x": x,
        "click_y": y,
        "label": label,
        "search_window": window,
        "model_version": _model_version(mission.team_id, model_version_id),
    }


def _check_window_size(window: list[float], field: str, basemap: Basemap) -> None:
    """A search window holds at least an object: MIN_WINDOW_M on the ground and MIN_WINDOW_PX basemap pixels a side."""
    width, height = window[2] - window[0], window[3] - window[1]
    gsd = basemap.gsd_m or 0.0
    smallest = min(width, height)
    if smallest < MIN_WINDOW_PX or smallest * gsd < MIN_WINDOW_M:
        raise InvalidInput(
            f"{field} is {width:.0f} x {height:.0f} basemap pixels ({width * gsd:.1f} x {height * gsd:.1f} m); a "
            f"search window must be at least {MIN_WINDOW_M:g} m and {MIN_WINDOW_PX} pixels on each side",
            field=field,
        )


def _drone_image(by: AbstractBaseUser, drone_image_id: int) -> DroneImage:
    drone_image = drone_images_for(by).filter(pk=drone_image_id).first()
    if drone_image is None:
        raise InvalidInput(f"no drone image {drone_image_id} in your teams", field="drone_image")
    return drone_image


def _basemap(by: AbstractBaseUser, basemap_id: int, drone_image: DroneImage) -> Basemap:
    """A basemap of the drone image's mission whose ingest has succeeded (so it has its size and georeference)."""
    basemap = basemaps_for(by).filter(pk=basemap_id).first()
    if basemap is None:
        raise InvalidInput(f"no basemap {basemap_id} in your teams", field="basemap")
    if basemap.mission_id != drone_image.mission_id:
        raise InvalidInput(
            f"basemap {basemap_id} belongs to another mission than drone image {drone_image.id}", field="basemap"
        )
    if basemap.status != JobStatus.SUCCEEDED or not basemap.width or not basemap.height:
        raise InvalidInput(
            f"basemap {basemap_id} is not ready (ingest {basemap.status}); wait until its ingest has succeeded",
            field="basemap",
        )
    return basemap


def _model_version(team_id: int, model_version_id: int | None) -> ModelVersion | None:
    if model_version_id is None:
        return None
    version = model_versions_visible_to(team_id).filter(pk=model_version_id).first()
    if version is None:
        raise InvalidInput(f"no model version {model_version_id} available to this team", field="model_version")
    return version


def prediction_values(
    *,
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
) -> dict[str, object]:
    """The validated fields of a Prediction (all but target, batch and the heatmap file)."""
    version_id = getattr(model_version, "pk", model_version)
    if not ModelVersion.objects.filter(pk=version_id).exists():
        raise InvalidInput(f"no model version {version_id}", field="model_version")
    if heatmap_png is not None and not bytes(heatmap_png[:8]) == PNG_SIGNATURE:
        raise InvalidInput("heatmap_png is not a PNG image", field="heatmap_png")
    if search_mode not in ("", *SEARCH_MODES):
        raise InvalidInput(f"search_mode must be one of {', '.join(SEARCH_MODES)}", field="search_mode")
    latency = finite(latency_ms, "latency_ms")
    if latency < 0:
        raise InvalidInput("latency_ms cannot be negative", field="latency_ms")
    return {
        "model_version_id": version_id,
        "box": check_box(box, "box"),
        "box_geojson": _polygon(box_geojson, "box_geojson"),
        "score": finite(score, "score"),
        "candidates": (checked := [_candidate(candidate, i) for i, candidate in enumerate(candidates)]),
        "margin": confidence_margin(finite(score, "score"), checked),
        "heatmap_window": None if heatmap_window is None else check_box(heatmap_window, "heatmap_window"),
        "heatmap_bounds": None if heatmap_bounds is None else check_box(heatmap_bounds, "heatmap_bounds"),
        "search_window": None if search_window is None else check_box(search_window, "search_window"),
        "search_mode": search_mode,
        "latency_ms": latency,
    }


def confidence_margin(score: float, candidates: Sequence[dict]) -> float:
    """How sure the model is of its answer: its score minus the best other candidate's (its score alone without
    one). The review order "least confident first" starts from the smallest."""
    others = sorted((float(c["score"]) for c in candidates[1:]), reverse=True)
    return max(score - (others[0] if others else 0.0), 0.0)


def _candidate(candidate: dict, index: int) -> dict[str, object]:
    """{"box": [x1, y1, x2, y2] basemap px, "box_geojson": Polygon | None, "score": s}."""
    field = f"candidates[{index}]"
    if not isinstance(candidate, dict):
        raise InvalidInput(f"{field} must be an object with box, box_geojson and score", field="candidates")
    geojson = candidate.get("box_geojson")
    return {
        "box": check_box(candidate.get("box"), f"{field}.box"),
        "box_geojson": None if geojson is None else _polygon(geojson, f"{field}.box_geojson"),
        "score": finite(candidate.get("score"), f"{field}.score"),
    }


def _polygon(geojson: object, field: str) -> dict:
    if not isinstance(geojson, dict) or geojson.get("type") != "Polygon" or not geojson.get("coordinates"):
        raise InvalidInput(f"{field} must be a GeoJSON Polygon", field=field)
    return geojson
