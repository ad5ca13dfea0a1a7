"""How far a drone photo's GPS position lies from the basemaps of its mission: a photo taken 6,000 km away belongs to
another mission (or its EXIF is wrong), and a click on it would search the whole basemap."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from missions.rasters import haversine_m

FAR_KM = 1.0  # farther than this outside every basemap: the upload and the click say so


def distance_to_bounds_m(lon: float, lat: float, bounds: Sequence[float]) -> float:
    """Metres from (lon, lat) to the nearest point of [west, south, east, north] (0 inside)."""
    west, south, east, north = bounds
    nearest_lon, nearest_lat = min(max(lon, west), east), min(max(lat, south), north)
    return haversine_m(lon, lat, nearest_lon, nearest_lat)


def off_basemaps_km(lon: float | None, lat: float | None, all_bounds: Iterable[Sequence[float] | None]) -> float | None:
    """Kilometres from the position to the nearest of the basemaps (0 on one); None without GPS or basemap bounds."""
    distances = (
        [distance_to_bounds_m(lon, lat, b) for b in all_bounds if b] if lon is not None and lat is not None else []
    )
    return round(min(distances) / 1000, 3) if distances else None
