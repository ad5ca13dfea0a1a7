"""A mission's targets as a GeoJSON FeatureCollection in lon/lat (EPSG:4326), with provenance.

Each feature's geometry is the target's label box when it was approved or corrected (the latest review's final
box), else its prediction's box (Target.prediction), as a lon/lat Polygon. Boxes stored without their polygon are
transformed through the basemap's georeferencing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from affine import Affine
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rasterio.crs import CRS

from localization.models import TargetStatus
from missions.georef import Georef, counter_clockwise
from missions.models import Mission

LABELLED = {TargetStatus.APPROVED, TargetStatus.CORRECTED}
CRS_MEMBER = {"type": "name", "properties": {"name": "EPSG:4326"}}


class _Georefs:
    """One Georef per basemap, built on first use from the row's basemap CRS and transform."""

    def __init__(self) -> None:
        self._cache: dict[int, Georef | None] = {}

    def polygon(self, row: dict[str, Any], box: list[float]) -> dict | None:
        basemap_id = row["basemap_id"]
        if basemap_id not in self._cache:
            crs, transform = row["basemap__crs"], row["basemap__transform"]
            georeferenced = bool(crs and transform)
            self._cache[basemap_id] = (
                Georef(CRS.from_user_input(crs), Affine(*transform[:6])) if georeferenced else None
            )
        georef = self._cache[basemap_id]
        return georef.box_geojson(box) if georef is not None else None


def label_box(row: dict[str, Any]) -> tuple[list[float] | None, dict | None]:
    """The latest review's box and polygon (its final box, else the box of the prediction it reviewed)."""
    if row["last_review__final_box"] is not None:
        return row["last_review__final_box"], row["last_review__final_box_geojson"]
    return row["last_review__prediction__box"], row["last_review__prediction__box_geojson"]


def feature(row: dict[str, Any], georefs: _Georefs) -> dict[str, Any]:
    """One target row (from exports.selectors.mission_targets_for_geojson) as a Feature."""
    review_box, review_geometry = label_box(row)
    labelled = row["status"] in LABELLED and review_box is not None
    box = review_box if labelled else row["prediction__box"]
    geometry = review_geometry if labelled else row["prediction__box_geojson"]
    if geometry is None:
        geometry = georefs.polygon(row, box)
    reviewed_at = row["last_review__created_at"]
    properties = {
        "target_id": row["id"],
        "label": row["label"],
        "status": row["status"],
        "click": [row["click_x"], row["click_y"]],
        "drone_image": row["drone_image__original_name"],
        "drone_image_id": row["drone_image_id"],
        "basemap": row["basemap__name"],
        "basemap_id": row["basemap_id"],
        "model_version": row["prediction__model_version__name"],
        "score": row["prediction__score"],
        "review_decision": row["last_review__decision"],
        "reviewer": row["last_review__reviewer__username"],
        "reviewed_at": reviewed_at.isoformat() if reviewed_at else None,
        "box": box,
        "box_source": "review" if labelled else "prediction",
    }
    return {"type": "Feature", "id": row["id"], "geometry": counter_clockwise(geometry), "properties": properties}


def feature_collection(
    *, mission: Mission, rows: Iterable[dict[str, Any]], exporter: AbstractBaseUser, now: datetime | None = None
) -> dict[str, Any]:
    """The FeatureCollection with a top-level "crs" (EPSG:4326) and "provenance" member."""
    georefs = _Georefs()
    features = [feature(row, georefs) for row in rows]
    provenance = {
        "mission": {"id": mission.id, "name": mission.name},
        "team": {"id": mission.team_id, "name": mission.team.name},
        "exported_at": (now or timezone.now()).isoformat(),
        "exporter": exporter.get_username(),
        "feature_count": len(features),
        "units": {"click": "drone-image pixels (x, y)", "box": "basemap pixels [x1, y1, x2, y2]"},
    }
    return {"type": "FeatureCollection", "crs": CRS_MEMBER, "provenance": provenance, "features": features}
