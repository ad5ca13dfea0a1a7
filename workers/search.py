"""Where on the basemap to look for a clicked object: the search plan of a target (pure geometry, no Django).

Order: the window the user drew (their explicit choice), else a window around the drone's GPS position (moved
ahead along the camera heading by the ground distance the tilted camera looks ahead, when altitude and pitch are
known), else sliding windows over the whole basemap. Windows are squares in basemap pixels [x1, y1, x2, y2].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LOOK_AHEAD_MAX_TILT_DEG = 60.0  # beyond this tilt the look-ahead distance grows too fast to trust
LOOK_AHEAD_MAX_SHARE = 0.25  # the camera's own position stays inside the window's middle half
NEARLY_ALL = 0.9  # a sliding window at least this share of the basemap's longer side becomes one window over all


@dataclass(frozen=True)
class SearchPlan:
    mode: str  # "drawn", "gps" or "sliding"
    window: list[float]  # the region searched, basemap pixels
    side: float  # the side of each window handed to the model, basemap pixels


def reference_extent_m(model_config: dict | None, default_m: float) -> float:
    """The ground (metres) a model's reference covered in training: its config's `data.reference_extent_m`, else
    `default_m` (the platform's LOCALIZE_REFERENCE_EXTENT_M)."""
    value = ((model_config or {}).get("data") or {}).get("reference_extent_m")
    return float(value) if value else float(default_m)


def window_side_px(reference_extent_m: float, gsd_m: float | None, default_px: float) -> float:
    """How many basemap pixels cover the ground a model reference covered in training."""
    if not gsd_m or gsd_m <= 0 or not math.isfinite(gsd_m):
        return default_px
    return reference_extent_m / gsd_m


def look_ahead_m(rel_alt_m: float | None, pitch_deg: float | None) -> float:
    """Ground distance from below the camera to where its optical axis meets the ground (pitch: -90 = nadir)."""
    if rel_alt_m is None or pitch_deg is None or rel_alt_m <= 0:
        return 0.0
    tilt = min(max(90.0 + pitch_deg, 0.0), LOOK_AHEAD_MAX_TILT_DEG)
    return rel_alt_m * math.tan(math.radians(tilt))


def square_inside(cx: float, cy: float, side: float, width: int, height: int) -> list[float]:
    """A square of `side` centred on (cx, cy), moved to lie inside the basemap when it fits (else centred on it)."""

    def start(centre: float, extent: int) -> float:
        if side >= extent:
            return (extent - side) / 2
        return min(max(centre - side / 2, 0.0), extent - side)

    x0, y0 = start(cx, width), start(cy, height)
    return [x0, y0, x0 + side, y0 + side]


def drawn_square(window: list[float], width: int, height: int) -> list[float]:
    """The user's window made square (the model's reference is square) around its centre, clipped to the basemap
    where possible; a window smaller than nothing is refused upstream."""
    x1, y1, x2, y2 = window
    side = max(x2 - x1, y2 - y1)
    return square_inside((x1 + x2) / 2, (y1 + y2) / 2, side, width, height)


def plan_search(
    *,
    width: int,
    height: int,
    side_px: float,
    drawn: list[float] | None,
    gps_px: tuple[float, float] | None,
    heading_deg: float | None = None,
    ahead_px: float = 0.0,
) -> SearchPlan:
    """The plan for one target on a basemap of width x height pixels (see the module docstring)."""
    if drawn:
        square = drawn_square(drawn, width, height)
        return SearchPlan("drawn", square, square[2] - square[0])
    if gps_px is not None and 0 <= gps_px[0] < width and 0 <= gps_px[1] < height:
        cx, cy = gps_px
        if heading_deg is not None and ahead_px > 0:
            ahead = min(ahead_px, LOOK_AHEAD_MAX_SHARE * side_px)
            cx += ahead * math.sin(math.radians(heading_deg))
            cy -= ahead * math.cos(math.radians(heading_deg))  # north is up: rows grow southwards
        return SearchPlan("gps", square_inside(cx, cy, side_px, width, height), side_px)
    longest = max(width, height)
    side = longest if side_px >= NEARLY_ALL * longest else side_px  # one window instead of two nearly equal ones
    return SearchPlan("sliding", [0.0, 0.0, float(width), float(height)], side)
