"""Basemap pixels <-> lon/lat, through the basemap's affine transform and CRS (any CRS rasterio knows).

Pixel coordinates are continuous: (0, 0) is the top-left corner of the top-left pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import transform as warp_transform

LONLAT = CRS.from_epsg(4326)


@dataclass(frozen=True)
class Georef:
    crs: CRS
    transform: Affine  # pixel (col, row) -> CRS (x, y)

    @classmethod
    def of(cls, basemap: object) -> Georef:
        """From a Basemap row (its `crs` text and `transform` [a, b, c, d, e, f])."""
        if not basemap.crs or not basemap.transform:
            raise ValueError(f"basemap {basemap.pk} is not georeferenced yet (ingest status: {basemap.status})")
        return cls(CRS.from_user_input(basemap.crs), Affine(*basemap.transform[:6]))

    def to_lonlat(self, xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
        """Pixel columns/rows -> (lons, lats)."""
        crs_x, crs_y = zip(*(self.transform @ (x, y) for x, y in zip(xs, ys, strict=True)), strict=True)
        lons, lats = warp_transform(self.crs, LONLAT, list(crs_x), list(crs_y))
        return list(lons), list(lats)

    def to_pixels(self, lons: Sequence[float], lats: Sequence[float]) -> tuple[list[float], list[float]]:
        """(lons, lats) -> pixel columns/rows (may lie outside the image)."""
        crs_x, crs_y = warp_transform(LONLAT, self.crs, list(lons), list(lats))
        inverse = ~self.transform
        cols, rows = zip(*(inverse @ (x, y) for x, y in zip(crs_x, crs_y, strict=True)), strict=True)
        return list(cols), list(rows)

    def box_geojson(self, box: Sequence[float]) -> dict:
        """[x1, y1, x2, y2] pixels -> a GeoJSON Polygon in lon/lat (corners transformed one by one, so a box on a
        projected basemap may become a slightly rotated quadrilateral), its ring counter-clockwise as RFC 7946 asks
        whatever way the basemap's rows run."""
        x1, y1, x2, y2 = box
        lons, lats = self.to_lonlat([x1, x2, x2, x1, x1], [y1, y1, y2, y2, y1])
        ring = [[lon, lat] for lon, lat in zip(lons, lats, strict=True)]
        return counter_clockwise({"type": "Polygon", "coordinates": [ring]})

    def bounds_lonlat(self, box: Sequence[float]) -> list[float]:
        """[west, south, east, north] of a pixel box."""
        ring = self.box_geojson(box)["coordinates"][0]
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        return [min(lons), min(lats), max(lons), max(lats)]


def counter_clockwise(polygon: dict | None) -> dict | None:
    """A GeoJSON Polygon with its outer ring counter-clockwise (RFC 7946); geometries stored before are turned on
    the way out."""
    if not polygon or polygon.get("type") != "Polygon" or not polygon.get("coordinates"):
        return polygon
    ring = polygon["coordinates"][0]
    twice_area = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:], strict=False))
    return polygon if twice_area >= 0 else {**polygon, "coordinates": [ring[::-1], *polygon["coordinates"][1:]]}
