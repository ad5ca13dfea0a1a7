"""Boxes given in lon/lat (what a person draws on the map) -> basemap pixels (what the model and the labels use).

The browser never needs the basemap's CRS: it sends [west, south, east, north] and the server maps the four
corners through the basemap's georeferencing, keeping the pixel box that holds them, cut to the basemap.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import InvalidInput
from localization.pixels import finite
from missions.georef import Georef
from missions.models import Basemap


def lonlat_box_to_pixels(bounds: object, field: str, basemap: Basemap) -> list[float]:
    """[west, south, east, north] in degrees -> [x1, y1, x2, y2] basemap pixels inside the basemap."""
    if not isinstance(bounds, Sequence) or isinstance(bounds, str) or len(bounds) != 4:
        raise InvalidInput(f"{field} must be [west, south, east, north] in degrees (four numbers)", field=field)
    west, south, east, north = (finite(value, field) for value in bounds)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidInput(
            f"{field} must be [west, south, east, north] with west < east in -180..180 and south < north in -90..90;"
            f" got [{west:g}, {south:g}, {east:g}, {north:g}]",
            field=field,
        )
    cols, rows = Georef.of(basemap).to_pixels([west, east, east, west], [north, north, south, south])
    box = [max(0.0, min(cols)), max(0.0, min(rows)), min(float(basemap.width), max(cols)),
           min(float(basemap.height), max(rows))]  # fmt: skip
    if box[2] <= box[0] or box[3] <= box[1]:
        raise InvalidInput(f"{field} does not overlap the basemap {basemap.name!r}", field=field)
    return [round(value, 2) for value in box]


def one_of(pixels: object, lonlat: object, field: str) -> None:
    """A box comes either in pixels (`field`) or in lon/lat (`field`_lonlat), never both."""
    if pixels is not None and lonlat is not None:
        raise InvalidInput(f"give either {field} (pixels) or {field}_lonlat (degrees), not both", field=field)
