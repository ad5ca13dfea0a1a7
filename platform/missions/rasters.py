"""What rasterio tells us about a basemap raster: is it usable, and its CRS, transform, lon/lat bounds and GSD.

Units: pixel sizes in CRS units, GSD in metres per pixel, bounds [west, south, east, north] in lon/lat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import ColorInterp
from rasterio.errors import CRSError, RasterioError
from rasterio.io import DatasetReader
from rasterio.warp import transform as warp_transform
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from core.errors import InvalidInput, TooLarge
from missions.uploads import check_pixels

LONLAT = CRS.from_epsg(4326)
EARTH_RADIUS_M = 6_371_008.8
MAX_BANDS = 32  # RGB(A) or multispectral; tiles show three of them
MAX_WEB_MERCATOR_LAT = 85.0511  # the map's tiles end here (EPSG:3857)
MIN_GSD_M = 0.001  # a millimetre per pixel: finer is no aerial image, and its tiles cannot be rendered
NO_GEOREF = (
    "the GeoTIFF has no georeferencing (no {missing}); upload a georeferenced GeoTIFF, "
    "or a PNG/JPEG together with its lon/lat bounds"
)
GCPS_ONLY = (
    "the GeoTIFF is georeferenced by ground control points only; warp it to a map projection first "
    "(e.g. gdalwarp -t_srs EPSG:3857 in.tif out.tif) and upload the result"
)


@dataclass(frozen=True)
class RasterGeoref:
    """What a basemap records about its COG."""

    crs: str
    transform: list[float]
    width: int
    height: int
    bounds: list[float]
    gsd_m: float


def check_raster(ds: DatasetReader) -> None:
    """400 naming the problem when a raster cannot become a basemap (no georeferencing, bomb, odd data)."""
    check_pixels(ds.width, ds.height, "basemap")
    if ds.count < 1:
        raise InvalidInput("the raster has no bands", field="file")
    if ds.count > MAX_BANDS:  # a band bomb: few pixels, thousands of well-compressed bands
        raise TooLarge(f"the raster has {ds.count} bands; the most accepted is {MAX_BANDS}", field="file")
    if any(np.dtype(dtype).kind == "c" for dtype in ds.dtypes):
        raise InvalidInput("the raster holds complex numbers; export it as real-valued bands", field="file")
    has_transform = ds.transform != Affine.identity()
    if ds.crs is None or not has_transform:
        if ds.gcps[0]:
            raise InvalidInput(GCPS_ONLY, field="file")
        missing = "geotransform" if ds.crs is not None else "CRS" if has_transform else "CRS or geotransform"
        raise InvalidInput(NO_GEOREF.format(missing=missing), field="file")
    if not all(math.isfinite(v) for v in ds.transform[:6]):
        raise InvalidInput(
            "the GeoTIFF's geotransform is not finite (a NaN or infinite pixel size or origin)", field="file"
        )
    if ds.transform.is_degenerate:
        raise InvalidInput("the GeoTIFF's geotransform has a zero pixel size", field="file")
    check_on_earth(ds.crs, ds.transform, ds.width, ds.height)


def check_on_earth(crs: CRS, transform: Affine, width: int, height: int) -> None:
    """400 unless the raster converts to lon/lat, lies on the earth, and has pixels of at least MIN_GSD_M: a CRS that
    PROJ cannot relate to WGS84, bounds past the poles or the antimeridian, or a nanometre pixel would otherwise
    fail later (in the ingest, or as a tile that cannot be rendered)."""
    corners = [transform @ (col, row) for col in (0, width) for row in (0, height)]
    try:
        west, south, east, north = transform_bounds(crs, LONLAT, *_extent(corners), densify_pts=21)
        lons, lats = warp_transform(crs, LONLAT, [p[0] for p in corners], [p[1] for p in corners])
    except Exception as exc:  # PROJ/GDAL raise several unrelated types (CRSError, CPLE_*, ValueError)
        raise InvalidInput(
            f"the raster's CRS cannot be converted to longitude/latitude ({_first_line(exc)})", field="file"
        ) from exc
    box = [west, south, east, north, *lons, *lats]
    if all(math.isfinite(v) for v in box) and -180.0 <= east < west <= 180.0 and -90 <= south <= north <= 90:
        raise InvalidInput(  # transform_bounds gives west > east for a raster across 180°
            f"the raster crosses the antimeridian (180° longitude: from {west:.6g} to {east:.6g}); the map cannot show "
            "it in one piece: split it at 180° into two GeoTIFFs and upload both",
            field="file",
        )
    if all(math.isfinite(v) for v in box) and MAX_WEB_MERCATOR_LAT < max(abs(south), abs(north)) <= 90:
        raise InvalidInput(
            f"the raster reaches latitude {south if abs(south) > abs(north) else north:.6g}°; the map (Web Mercator) "
            f"shows only latitudes within ±{MAX_WEB_MERCATOR_LAT}°, so polar imagery cannot be a basemap",
            field="file",
        )
    if not all(math.isfinite(v) for v in box) or not (-180.0 <= west <= east <= 180.0 and -90 <= south <= north <= 90):
        raise InvalidInput(
            f"the raster lies outside the earth: its corners are at lon {_span(lons)}, lat {_span(lats)} "
            f"(longitudes must be within -180..180 and latitudes within -90..90); check its CRS and geotransform",
            field="file",
        )
    try:
        gsd = gsd_metres(crs, transform, width, height)
    except Exception as exc:  # as above: PROJ's errors for a CRS without linear units or a pole in the centre
        raise InvalidInput(f"the raster's pixel size cannot be measured ({_first_line(exc)})", field="file") from exc
    if not gsd >= MIN_GSD_M:
        raise InvalidInput(
            f"the raster's pixels are {gsd:.3g} m on the ground; the smallest accepted is {MIN_GSD_M} m", field="file"
        )


def _extent(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _span(values: list[float]) -> str:
    return f"{min(values):.6g}..{max(values):.6g}"


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def check_readable(ds: DatasetReader) -> None:
    """Read the first and the last block of band 1: a truncated or corrupt file fails here (400)."""
    block_h, block_w = ds.block_shapes[0]
    col, row = (ds.width - 1) // block_w * block_w, (ds.height - 1) // block_h * block_h
    last = Window(col, row, min(block_w, ds.width - col), min(block_h, ds.height - row))
    try:
        for window in (Window(0, 0, min(block_w, ds.width), min(block_h, ds.height)), last):
            ds.read(1, window=window)
    except RasterioError as exc:
        raise InvalidInput(f"the raster is truncated or corrupt ({exc})", field="file") from exc


def crs_text(crs: CRS) -> str:
    """'EPSG:<code>' when the CRS has one, else its WKT."""
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_wkt()


def describe(ds: DatasetReader) -> RasterGeoref:
    """CRS, transform, size, lon/lat bounds and GSD of an open, georeferenced raster."""
    bounds = transform_bounds(ds.crs, LONLAT, *ds.bounds, densify_pts=21)
    return RasterGeoref(
        crs=crs_text(ds.crs),
        transform=list(ds.transform)[:6],
        width=ds.width,
        height=ds.height,
        bounds=[float(v) for v in bounds],
        gsd_m=gsd_metres(ds.crs, ds.transform, ds.width, ds.height),
    )


def gsd_metres(crs: CRS, transform: Affine, width: int, height: int) -> float:
    """Ground sample distance at the image centre, metres per pixel (side of a square pixel of the same area).

    Geographic CRS: pixel size in degrees times metres per degree at the centre latitude. Projected CRS: pixel
    size times the CRS unit in metres, corrected by cos(latitude) for Mercator, whose metres grow towards the poles.
    Any other CRS: the geodesic size of the centre pixel."""
    size_x, size_y = math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e)
    centre = transform @ (width / 2, height / 2)
    if crs.is_geographic:
        lat = math.radians(centre[1])
        return math.sqrt(size_x * metres_per_degree_lon(lat) * size_y * metres_per_degree_lat(lat))
    try:
        unit_m = crs.linear_units_factor[1]
    except CRSError:
        return _geodesic_pixel_size(crs, transform, width, height)
    gsd = math.sqrt(size_x * size_y) * unit_m
    if crs.to_dict().get("proj") == "merc":
        _, lats = warp_transform(crs, LONLAT, [centre[0]], [centre[1]])
        gsd *= math.cos(math.radians(lats[0]))
    return gsd


def metres_per_degree_lat(lat: float) -> float:
    """Metres per degree of latitude on WGS84 at latitude `lat` (radians)."""
    return 111132.92 - 559.82 * math.cos(2 * lat) + 1.175 * math.cos(4 * lat) - 0.0023 * math.cos(6 * lat)


def metres_per_degree_lon(lat: float) -> float:
    """Metres per degree of longitude on WGS84 at latitude `lat` (radians)."""
    return 111412.84 * math.cos(lat) - 93.5 * math.cos(3 * lat) + 0.118 * math.cos(5 * lat)


def _geodesic_pixel_size(crs: CRS, transform: Affine, width: int, height: int) -> float:
    col, row = width / 2, height / 2
    points = [transform @ p for p in ((col, row), (col + 1, row), (col, row + 1))]
    lons, lats = warp_transform(crs, LONLAT, [p[0] for p in points], [p[1] for p in points])
    dx = haversine_m(lons[0], lats[0], lons[1], lats[1])
    dy = haversine_m(lons[0], lats[0], lons[2], lats[2])
    return math.sqrt(dx * dy)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def tile_indexes(ds: DatasetReader) -> tuple[int, ...]:
    """The bands a tile shows: red, green, blue (the first three non-alpha bands) or one grey/palette band."""
    bands = [i for i, ci in zip(ds.indexes, ds.colorinterp, strict=True) if ci != ColorInterp.alpha]
    return tuple(bands[:3]) if len(bands) >= 3 else tuple(bands[:1])


def render_range(ds: DatasetReader, max_side: int = 1024) -> list[list[float]] | None:
    """[[low, high], ...] per tile band (2nd and 98th percentiles of a decimated read) for data that is not 8-bit;
    None for 8-bit data, which tiles show as is."""
    indexes = tile_indexes(ds)
    if all(ds.dtypes[i - 1] == "uint8" for i in indexes):
        return None
    scale = max(1.0, max(ds.width, ds.height) / max_side)
    shape = (len(indexes), max(1, int(ds.height / scale)), max(1, int(ds.width / scale)))
    data = ds.read(indexes, out_shape=shape, masked=True)
    ranges = []
    for band in data:
        values = band.compressed()
        values = values[np.isfinite(values)]
        low, high = np.percentile(values, [2, 98]).tolist() if values.size else (0.0, 1.0)  # all nodata: any range
        ranges.append([float(low), float(high if high > low else low + 1)])
    return ranges
