"""Builders for the localization tests: targets with their own drone image and basemap, predicted targets."""

from __future__ import annotations

import io

from PIL import Image

from localization import services
from localization.models import Prediction, Target
from missions.georef import Georef
from missions.models import Basemap, Mission
from registry.models import ModelVersion
from tests.platform import builders
from tests.platform.builders import jpeg_bytes, make_drone_image, make_model_version

__all__ = ["jpeg_bytes", "make_drone_image", "make_model_version"]

# 0.5 m pixels, origin at 500000 E / 5000000 N in UTM 33N (about 15 E, 45.1 N)
UTM_TRANSFORM = [0.5, 0.0, 500000.0, 0.0, -0.5, 5000000.0]
# 0.0001 degree pixels from 10 E / 50 N
LONLAT_TRANSFORM = [0.0001, 0.0, 10.0, 0.0, -0.0001, 50.0]


def make_basemap(
    mission: Mission, *, crs: str = "EPSG:32633", width: int = 1000, height: int = 800, status: str = "succeeded"
) -> Basemap:
    transform = UTM_TRANSFORM if crs == "EPSG:32633" else LONLAT_TRANSFORM
    return builders.make_basemap(mission, width=width, height=height, crs=crs, transform=transform, status=status)


def png_bytes(width: int = 16, height: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, format="PNG")
    return buffer.getvalue()


def make_target(mission: Mission, *, by: object, status: str = "queued", basemap: Basemap | None = None) -> Target:
    """A target straight through the ORM (nothing enqueued), with its own drone image and basemap."""
    basemap = basemap or make_basemap(mission)
    drone_image = make_drone_image(mission, by=by)
    return Target.objects.create(
        mission=mission, drone_image=drone_image, basemap=basemap, click_x=10, click_y=20, status=status, created_by=by
    )


def prediction_kwargs(target: Target, version: ModelVersion, **overrides: object) -> dict:
    """What the worker hands to `prediction_save`: a box, two candidates, a heatmap."""
    georef = Georef.of(target.basemap)
    boxes = [[100.0, 120.0, 140.0, 150.0], [300.0, 310.0, 330.0, 350.0]]
    values = {
        "target_id": target.id, "model_version": version, "box": boxes[0], "box_geojson": georef.box_geojson(boxes[0]),
        "score": 0.91, "heatmap_png": png_bytes(), "heatmap_window": [0.0, 0.0, 512.0, 512.0],
        "heatmap_bounds": georef.bounds_lonlat([0, 0, 512, 512]), "search_window": [0.0, 0.0, 512.0, 512.0],
        "search_mode": "drawn", "latency_ms": 42.5,
        "candidates": [
            {"box": box, "box_geojson": georef.box_geojson(box), "score": score}
            for box, score in zip(boxes, (0.91, 0.34), strict=True)
        ],
    }  # fmt: skip
    return {**values, **overrides}


def make_predicted_target(
    mission: Mission, *, by: object, version: ModelVersion | None = None, runner_up: float = 0.34
) -> Target:
    """A target taken through the worker's services: claimed, then predicted (with a heatmap; the top candidate
    scores 0.91, the second `runner_up`)."""
    target = make_target(mission, by=by)
    services.target_claim(target_id=target.id)
    kwargs = prediction_kwargs(target, version or make_model_version())
    kwargs["candidates"][1]["score"] = runner_up
    prediction: Prediction = services.prediction_save(**kwargs)
    target.refresh_from_db()
    assert target.prediction_id == prediction.id
    return target
