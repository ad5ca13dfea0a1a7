"""Checks on an uploaded basemap before it is stored: a georeferenced GeoTIFF, or a PNG/JPEG plus lon/lat bounds."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import rasterio
from affine import Affine
from django.core.files.uploadedfile import UploadedFile
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.io import DatasetReader, MemoryFile

from core.errors import InvalidInput
from missions.models import Basemap
from missions.rasters import LONLAT, check_on_earth, check_raster, check_readable
from missions.uploads import check_image_intact, check_size, sniff_kind

BOUNDS_FORMAT = 'four numbers "west,south,east,north" in degrees of longitude/latitude (EPSG:4326)'


@dataclass(frozen=True)
class BasemapSource:
    """What the upload turned out to be."""

    kind: str  # Basemap.SourceKind
    extension: str
    bounds: list[float] | None  # [west, south, east, north] in lon/lat, for PNG/JPEG


def check_basemap_upload(upload: UploadedFile, raw_bounds: object) -> BasemapSource:
    """Validate a basemap upload fully (size, kind, georeferencing or bounds, integrity); 4xx naming the problem."""
    check_size(upload)
    bounds = parse_bounds(raw_bounds)
    kind = sniff_kind(upload)
    if kind == "tiff":
        if bounds is not None:
            raise InvalidInput(
                "bounds are only for PNG/JPEG basemaps; a GeoTIFF carries its own georeferencing", field="bounds"
            )
        check_geotiff(upload)
        return BasemapSource(Basemap.SourceKind.GEOTIFF, "tif", None)
    if kind in ("png", "jpeg"):
        if bounds is None:
            raise InvalidInput(f"a PNG/JPEG basemap needs its bounds: {BOUNDS_FORMAT}", field="bounds")
        header = check_image_intact(upload, ("PNG", "JPEG"), "basemap")
        west, south, east, north = bounds
        pixel = Affine((east - west) / header.width, 0, west, 0, (south - north) / header.height, north)
        check_on_earth(LONLAT, pixel, header.width, header.height)
        return BasemapSource(Basemap.SourceKind.IMAGE, "png" if kind == "png" else "jpg", bounds)
    raise InvalidInput("the file is not a GeoTIFF, PNG or JPEG image", field="file")


def parse_bounds(raw: object) -> list[float] | None:
    """[west, south, east, north] from "w,s,e,n", a JSON array or a list; None when absent; else 400."""
    if raw is None or (isinstance(raw, str | list | tuple) and len(raw) == 0):
        return None
    values = raw
    if isinstance(raw, str):
        text = raw.strip()
        try:
            values = json.loads(text) if text.startswith("[") else text.split(",")
        except ValueError as exc:
            raise InvalidInput(f"bounds must be {BOUNDS_FORMAT}", field="bounds") from exc
    if not isinstance(values, list | tuple) or len(values) != 4:
        raise InvalidInput(f"bounds must be {BOUNDS_FORMAT}", field="bounds")
    return check_lonlat_box([_number(v) for v in values])


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise InvalidInput(f"bounds must be {BOUNDS_FORMAT}", field="bounds")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"bounds must be {BOUNDS_FORMAT}; {value!r} is not a number", field="bounds") from exc
    if not math.isfinite(number):
        raise InvalidInput(f"bounds must be finite numbers; got {value!r}", field="bounds")
    return number


def check_lonlat_box(box: list[float]) -> list[float]:
    west, south, east, north = box
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise InvalidInput("bounds: west and east must be longitudes within -180..180", field="bounds")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise InvalidInput("bounds: south and north must be latitudes within -90..90", field="bounds")
    if west >= east:
        raise InvalidInput(f"bounds: west ({west}) must be less than east ({east})", field="bounds")
    if south >= north:
        raise InvalidInput(f"bounds: south ({south}) must be less than north ({north})", field="bounds")
    return box


def check_geotiff(upload: UploadedFile) -> None:
    """A readable GeoTIFF with a CRS and a geotransform, not too many pixels, first and last blocks intact."""
    try:
        with _open_upload(upload) as ds:
            if ds.driver != "GTiff":
                raise InvalidInput(f"the file is not a GeoTIFF (GDAL reads it as {ds.driver})", field="file")
            check_raster(ds)
            check_readable(ds)
    except RasterioError as exc:
        raise InvalidInput(f"the file is not a readable GeoTIFF ({exc})", field="file") from exc
    finally:
        upload.seek(0)


@contextmanager
def _open_upload(upload: UploadedFile) -> Iterator[DatasetReader]:
    """Open the upload with rasterio: its temporary file when Django spooled it to disk, else from memory."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        if hasattr(upload, "temporary_file_path"):
            with rasterio.open(upload.temporary_file_path()) as ds:
                yield ds
            return
        upload.seek(0)
        with MemoryFile(upload.read()) as memory, memory.open() as ds:
            yield ds
