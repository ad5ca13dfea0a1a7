"""Builders for the imagery tests: small GeoTIFFs/PNGs/JPEGs written in memory, uploads, stored-file listings."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import morecantile
import numpy as np
from affine import Affine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.warp import transform as warp_transform

from missions.ingest import basemap_ingest
from missions.models import Basemap

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
UTM33 = CRS.from_epsg(32633)
MARKER_ZOOM = 16


@dataclass(frozen=True)
class MarkedGeoTiff:
    """A UTM 33N GeoTIFF with a bright square centred on (lon, lat), and where that point falls in its tile."""

    data: bytes
    lon: float
    lat: float
    transform: Affine
    tile: morecantile.Tile
    tile_pixel: tuple[float, float]  # (column, row) of the marker inside its 256-px Web-Mercator tile


def geotiff_bytes(array: np.ndarray, crs: CRS | None, transform: Affine | None, **profile: object) -> bytes:
    """A GeoTIFF of `array` (bands, rows, cols); crs/transform None writes an un-georeferenced TIFF."""
    count, height, width = array.shape
    options = {"driver": "GTiff", "width": width, "height": height, "count": count, "dtype": array.dtype.name}
    if crs is not None:
        options["crs"] = crs
    if transform is not None:
        options["transform"] = transform
    with warnings.catch_warnings(), MemoryFile() as memory:
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # intended when crs/transform are None
        with memory.open(**options, **profile) as ds:
            ds.write(array)
        return memory.read()


def marked_utm_geotiff(size: int = 512, pixel_m: float = 2.0) -> MarkedGeoTiff:
    """A size x size RGB GeoTIFF in EPSG:32633 (pixel_m metres per pixel) with a 5x5 white square on a dark
    textured ground. The marker sits at 30% / 70% across its zoom-16 tile, so an error of a few pixels shows."""
    tile = WEB_MERCATOR.tile(15.0, 45.0, MARKER_ZOOM)
    box = WEB_MERCATOR.xy_bounds(tile)
    merc_x, merc_y = box.left + 0.3 * (box.right - box.left), box.top - 0.7 * (box.top - box.bottom)
    lons, lats = warp_transform("EPSG:3857", "EPSG:4326", [merc_x], [merc_y])
    (east,), (north,) = warp_transform("EPSG:4326", UTM33, lons, lats)
    half = size / 2 * pixel_m
    transform = Affine(pixel_m, 0, east - half + pixel_m / 3, 0, -pixel_m, north + half - pixel_m / 5)
    col, row = ~transform @ (east, north)
    rng = np.random.default_rng(7)
    array = rng.integers(20, 70, size=(3, size, size), dtype=np.uint8)
    r0, c0 = int(row) - 2, int(col) - 2
    array[:, r0 : r0 + 5, c0 : c0 + 5] = 255
    # the marker's true centre is the centre of the 5x5 block, which must be where (lon, lat) lies
    centre_east, centre_north = transform @ (c0 + 2.5, r0 + 2.5)
    (lon,), (lat,) = warp_transform(UTM33, "EPSG:4326", [centre_east], [centre_north])
    return MarkedGeoTiff(
        data=geotiff_bytes(array, UTM33, transform),
        lon=lon,
        lat=lat,
        transform=transform,
        tile=tile,
        tile_pixel=tile_pixel(lon, lat, tile),
    )


def tile_pixel(lon: float, lat: float, tile: morecantile.Tile, size: int = 256) -> tuple[float, float]:
    """(column, row) of a lon/lat inside a Web-Mercator tile of `size` pixels (continuous, 0 = left/top edge)."""
    x, y = WEB_MERCATOR.xy(lon, lat)
    box = WEB_MERCATOR.xy_bounds(tile)
    return (x - box.left) / (box.right - box.left) * size, (box.top - y) / (box.top - box.bottom) * size


def bright_centroid(png: bytes, threshold: int = 200) -> tuple[float, float]:
    """(column, row) of the centre of the bright, opaque pixels of a tile (pixel centres at +0.5)."""
    rgba = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    bright = (rgba[..., :3].min(axis=2) >= threshold) & (rgba[..., 3] > 0)
    rows, cols = np.nonzero(bright)
    assert rows.size, "no bright pixel in the tile"
    return float(cols.mean() + 0.5), float(rows.mean() + 0.5)


def image_bytes(fmt: str = "PNG", width: int = 256, height: int = 192, mode: str = "RGB", **save: object) -> bytes:
    rng = np.random.default_rng(3)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    array = rng.integers(0, 255, size=(height, width, channels), dtype=np.uint8)
    image = Image.fromarray(array.squeeze(-1) if channels == 1 else array)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A ~100-byte PNG whose header claims width x height 1-bit pixels (it would take ~110 MB to decode)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "upload.bin", content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(folder: str = "") -> set[str]:
    """Every file name under a storage folder (through the storage API), recursively."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return set()
    names = {f"{folder}/{name}".lstrip("/") for name in files}
    for sub in folders:
        names |= stored_files(f"{folder}/{sub}".lstrip("/"))
    return names


def upload_basemap(client, mission_id: int, data: bytes, filename: str = "map.tif", **fields: object):  # noqa: ANN001, ANN201
    """POST /api/v1/basemaps/ as multipart (`fields`: name, bounds)."""
    body = {"mission": mission_id, "file": upload(data, filename), **fields}
    return client.post("/api/v1/basemaps/", body, format="multipart")


def ingested(basemap_id: int) -> Basemap:
    """Run the real ingest in this process and return the updated row."""
    basemap_ingest(basemap_id=basemap_id)
    return Basemap.objects.get(pk=basemap_id)
