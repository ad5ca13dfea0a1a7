"""What the browser tests share: a synthetic mission in the platform, and where things are on screen."""

from __future__ import annotations

from pathlib import Path

from localization import services
from localization.models import Target
from missions.georef import Georef
from tests.platform.localization_fixtures import png_bytes
from tests.workers.synthetic_mission import SyntheticMission, build_synthetic_mission


def synthetic_mission(folder: Path) -> SyntheticMission:
    """A mission with the generator's basemap (ingested), its drone photos (EXIF GPS) and the demo model active."""
    return build_synthetic_mission(folder)


def predict(
    target: Target, mission: SyntheticMission, box: list[float], others: list[list[float]], gap: float = 0.2
) -> Target:
    """The worker's part done through its services: the target claimed, then predicted at `box` with candidates
    (scores 0.87, then `gap` lower each)."""
    georef = Georef.of(target.basemap)
    boxes = [box, *others]
    candidates = [
        {"box": b, "box_geojson": georef.box_geojson(b), "score": 0.87 - gap * i} for i, b in enumerate(boxes)
    ]
    services.target_claim(target_id=target.id)
    x1, y1, x2, y2 = box
    window = [max(0.0, x1 - 200), max(0.0, y1 - 200), x2 + 200, y2 + 200]
    services.prediction_save(
        target_id=target.id, model_version=mission.version, box=box, box_geojson=georef.box_geojson(box), score=0.87,
        heatmap_png=png_bytes(32, 32), heatmap_window=window, heatmap_bounds=georef.bounds_lonlat(window),
        search_window=window, search_mode="gps", latency_ms=812.0,
        candidates=candidates,
    )  # fmt: skip
    target.refresh_from_db()
    return target


def image_point(page, selector: str, x: float, y: float, width: int, height: int) -> tuple[float, float]:  # noqa: ANN001
    """Screen position of pixel (x, y) of an image shown by an <img> (Leaflet's image overlay)."""
    box = page.locator(selector).bounding_box()
    return box["x"] + x / width * box["width"], box["y"] + y / height * box["height"]


def settled_centre(page, locator, tries: int = 50) -> tuple[float, float]:  # noqa: ANN001
    """The centre of an element once it stops moving (the map zooms to the box with an animation)."""
    last = None
    for _ in range(tries):
        box = locator.bounding_box()
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        if centre == last:
            return centre
        last = centre
        page.wait_for_timeout(150)
    raise AssertionError(f"{locator} kept moving for {tries * 0.15:.1f} s")


def click_drone(page, image, x: float, y: float) -> None:  # noqa: ANN001
    """Click pixel (x, y) of the drone image shown in the workspace."""
    page.mouse.click(*image_point(page, "#drone-map img.leaflet-image-layer", x, y, image.width, image.height))
