"""Bad uploads, systematically: a corpus of files generated here (never downloaded) sent to POST /api/v1/basemaps/
and /api/v1/drone-images/.

Every bad file gets a 4xx whose JSON `detail` names the problem, and nothing is stored (no row, no file). Where only
the background ingest can tell (a GeoTIFF whose middle is corrupt), the upload is accepted and the ingest, run here
in this process, ends `failed` with a readable error and writes no COG. Files that are what their bytes say (a
JPEG with a ZIP appended, a PNG named .tif) are accepted as that, stored under a generated name of that kind, and
served only as that kind with `nosniff`. test_basemaps.py and test_drone_images.py hold the first cases (text as an
image, a file cut in half, the 30000 x 30000 PNG bomb, traversal in names, a bad `bounds`); this file adds the rest.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from affine import Affine
from PIL import Image
from PIL.TiffImagePlugin import IFDRational
from rasterio.crs import CRS
from rasterio.io import MemoryFile

from core.models import JobStatus
from missions.models import Basemap, DroneImage
from tests.platform.factories import client_for, team_setup
from tests.platform.imagery_fixtures import UTM33, geotiff_bytes, image_bytes, ingested, stored_files, upload
from tests.platform.test_drone_images import drone_jpeg

pytestmark = pytest.mark.django_db

LONLAT = CRS.from_epsg(4326)
BOUNDS = "10,50,10.01,50.01"
TEXT_CHUNK_LIMIT = 1024 * 1024  # more decompressed text than Pillow accepts in one PNG chunk (ImageFile.SAFEBLOCK)


# --- the corpus: builders of bad (or odd) files ----------------------------------------------------------------


def utm_tiff(transform: Affine = Affine(2, 0, 5e5, 0, -2, 5e6), crs: CRS = UTM33, size: int = 64, **profile) -> bytes:  # noqa: ANN003
    rng = np.random.default_rng(5)
    return geotiff_bytes(rng.integers(0, 255, (3, size, size), dtype=np.uint8), crs, transform, **profile)


def mode_png(mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (48, 32)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A 16 x 16 JPEG whose frame header (SOF0) claims width x height."""
    data = bytearray(image_bytes("JPEG", 16, 16))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def sparse_tiff(width: int, height: int) -> bytes:
    """A GeoTIFF header for width x height pixels with no block written: a few hundred bytes."""
    with MemoryFile() as memory:
        options = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "uint8"}
        with memory.open(**options, crs=UTM33, transform=Affine(1, 0, 5e5, 0, -1, 5e6), tiled=True, sparse_ok=True):
            pass
        return memory.read()


def png_text_bomb() -> bytes:
    """A small PNG with a zTXt chunk (before its pixels, where Pillow reads it on open) that inflates to 8 MiB,
    past Pillow's limit for text."""
    base = mode_png("RGB")
    text = b"Comment\x00\x00" + zlib.compress(b"A" * (TEXT_CHUNK_LIMIT * 8), 9)
    chunk = struct.pack(">I", len(text)) + b"zTXt" + text + struct.pack(">I", zlib.crc32(b"zTXt" + text) & 0xFFFFFFFF)
    idat = base.index(b"IDAT") - 4
    return base[:idat] + chunk + base[idat:]


def corrupt_zlib(data: bytes, start: int) -> bytes:
    """Overwrite 64 bytes of a compressed stream from `start` (a CRC or zlib error when decoded)."""
    return data[:start] + b"\x00\xff" * 32 + data[start + 64 :]


def png_bad_idat() -> bytes:
    png = image_bytes("PNG", 128, 96)
    return corrupt_zlib(png, png.index(b"IDAT") + 200)


def tiff_with_corrupt_middle_block() -> bytes:
    """A DEFLATE-tiled GeoTIFF whose first and last blocks are intact (what the upload reads) and whose middle block
    is garbage (what only a full read, the ingest's, meets)."""
    data = utm_tiff(size=512, tiled=True, blockxsize=128, blockysize=128, compress="deflate")
    with MemoryFile(data) as memory, memory.open() as ds:
        offset = int(ds.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
    return corrupt_zlib(data, offset + 8)


def gps_time(date: str, hours: int) -> dict:
    return {29: date, 7: (IFDRational(hours), IFDRational(0), IFDRational(0))}


MARS = CRS.from_wkt(
    'GEOGCS["Mars 2000",DATUM["D_Mars_2000",SPHEROID["Mars_2000_IAU_IAG",3396190.0,169.894447223612]],'
    'PRIMEM["Greenwich",0],UNIT["Decimal_Degree",0.0174532925199433]]'
)
LOCAL = CRS.from_wkt('LOCAL_CS["site grid",UNIT["metre",1]]')


# --- refused: 4xx naming the problem, nothing stored ------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """One refused upload: what is sent, and what the answer must say."""

    data: Callable[[], bytes]
    status: int
    says: str  # a phrase of `detail`
    name: str = "upload.jpg"
    fields: dict = field(default_factory=dict)  # extra form fields (basemaps: bounds, name)


NOT_A_BASEMAP = "not a GeoTIFF, PNG or JPEG"
NOT_A_PHOTO = "not a JPEG or PNG image"
CORRUPT = "truncated or corrupt"

BAD_BASEMAPS = {
    "empty file": Bad(lambda: b"", 400, "The submitted file is empty", "map.tif"),
    "HTML named .tif": Bad(lambda: b"<!doctype html><script>alert(1)</script>" * 20, 400, NOT_A_BASEMAP, "map.tif"),
    "PDF named .png": Bad(lambda: b"%PDF-1.7\n" + bytes(range(256)) * 8, 400, NOT_A_BASEMAP, "map.png"),
    "ZIP named .tif": Bad(lambda: b"PK\x03\x04" + b"\0" * 400, 400, NOT_A_BASEMAP, "map.tif"),
    "SVG named .png": Bad(lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', 400, NOT_A_BASEMAP),
    "GIF": Bad(lambda: image_bytes("GIF"), 400, NOT_A_BASEMAP, "map.gif", {"bounds": BOUNDS}),
    "WebP": Bad(lambda: image_bytes("WEBP"), 400, NOT_A_BASEMAP, "map.webp", {"bounds": BOUNDS}),
    "BMP": Bad(lambda: image_bytes("BMP"), 400, NOT_A_BASEMAP, "map.bmp", {"bounds": BOUNDS}),
    "TIFF magic only": Bad(lambda: b"II*\x00", 400, "not a readable GeoTIFF", "map.tif"),
    "BigTIFF magic and zeros": Bad(lambda: b"II+\x00" + b"\0" * 64, 400, "not a readable GeoTIFF", "map.tif"),
    "PNG signature only": Bad(
        lambda: b"\x89PNG\r\n\x1a\n", 400, "not a PNG or JPEG image", "a.png", {"bounds": BOUNDS}
    ),
    "PNG cut after its header": Bad(
        lambda: image_bytes("PNG")[:33], 400, "not a PNG or JPEG image", "a.png", {"bounds": BOUNDS}
    ),
    "PNG with a corrupt IDAT": Bad(png_bad_idat, 400, CORRUPT, "a.png", {"bounds": BOUNDS}),
    "JPEG cut at 90%": Bad(
        lambda: (lambda j: j[: len(j) * 9 // 10])(image_bytes("JPEG", 512, 512)),
        400,
        CORRUPT,
        "a.jpg",
        {"bounds": BOUNDS},
    ),  # fmt: skip
    "GeoTIFF cut at 90%": Bad(lambda: (lambda t: t[: len(t) * 9 // 10])(utm_tiff(size=256)), 400, CORRUPT, "m.tif"),
    "JPEG header claiming 65000 x 65000": Bad(
        lambda: jpeg_claiming(65000, 65000), 413, "pixels", "a.jpg", {"bounds": BOUNDS}
    ),
    "sparse GeoTIFF of 100000 x 100000": Bad(lambda: sparse_tiff(100_000, 100_000), 413, "10,000,000,000 pixels"),
    "GeoTIFF of 3000 bands (a band bomb)": Bad(
        lambda: geotiff_bytes(
            np.zeros((3000, 16, 16), np.uint8), UTM33, Affine(1, 0, 5e5, 0, -1, 5e6), compress="deflate"
        ),
        413,
        "3000 bands; the most accepted is 32",
        "m.tif",
    ),  # fmt: skip
    "PNG with a zTXt text bomb": Bad(png_text_bomb, 400, "not a PNG or JPEG image", "a.png", {"bounds": BOUNDS}),
    "a name only of control characters": Bad(utm_tiff, 400, "No file was submitted", "\n\r\t"),
    "PNG named .tif without bounds": Bad(lambda: image_bytes("PNG"), 400, "needs its bounds", "map.tif"),
    "PNG whose bounds make 0.1 mm pixels": Bad(
        lambda: image_bytes("PNG", 256, 256),
        400,
        "smallest accepted is 0.001 m",
        "a.png",
        {"bounds": "10,50,10.0000003,50.0000002"},
    ),  # fmt: skip
    "a name of 201 characters": Bad(
        utm_tiff, 400, "name: Ensure this field has no more than 200", "m.tif", {"name": "n" * 201}
    ),  # fmt: skip
    "a name with a NUL": Bad(utm_tiff, 400, "Null characters are not allowed", "m.tif", {"name": "a\x00b"}),
    "bounds of 3 MB": Bad(
        lambda: image_bytes("PNG"), 413, "form fields are over the size limit", "a.png", {"bounds": "1," * 1_500_000}
    ),  # fmt: skip
    # GeoTIFFs with absurd georeferencing: refused at upload, before anything is stored or queued
    "zero pixel size": Bad(lambda: utm_tiff(Affine(0, 0, 5e5, 0, 0, 5e6)), 400, "zero pixel size", "m.tif"),
    "NaN pixel size": Bad(lambda: utm_tiff(Affine(math.nan, 0, 5e5, 0, -2, 5e6)), 400, "not finite", "m.tif"),
    "infinite origin": Bad(lambda: utm_tiff(Affine(2, 0, math.inf, 0, -2, 5e6)), 400, "not finite", "m.tif"),
    "longitudes 500..564": Bad(lambda: utm_tiff(Affine(1, 0, 500, 0, -1, 45), LONLAT), 400, "outside the earth"),
    "latitudes 113.6..120": Bad(lambda: utm_tiff(Affine(0.1, 0, 10, 0, -0.1, 120), LONLAT), 400, "outside the earth"),
    "pixels of 100 degrees": Bad(lambda: utm_tiff(Affine(100, 0, -180, 0, -100, 90), LONLAT), 400, "outside the earth"),
    "UTM coordinates of 1e12 m": Bad(lambda: utm_tiff(Affine(2, 0, 1e12, 0, -2, 1e12)), 400, "outside the earth"),
    "pixels of a picometre": Bad(lambda: utm_tiff(Affine(1e-12, 0, 5e5, 0, -1e-12, 5e6)), 400, "smallest accepted"),
    "a local engineering CRS": Bad(lambda: utm_tiff(Affine(1, 0, 0, 0, -1, 0), LOCAL), 400, "cannot be converted"),
    "a CRS on Mars": Bad(lambda: utm_tiff(Affine(0.01, 0, 10, 0, -0.01, 10), MARS), 400, "cannot be converted"),
    # valid, but beyond what the Web-Mercator map can show: refused with the reason (Fiji across 180°, the poles)
    "UTM 60S across the antimeridian": Bad(
        lambda: utm_tiff(Affine(4000, 0, 650_000, 0, -4000, 8_120_000), CRS.from_epsg(32760)), 400, "antimeridian"
    ),
    "Antarctic polar stereographic (EPSG:3031)": Bad(
        lambda: utm_tiff(Affine(1000, 0, -32_000, 0, -1000, 32_000), CRS.from_epsg(3031)), 400, "reaches latitude -"
    ),
    "Arctic polar stereographic (EPSG:3413)": Bad(
        lambda: utm_tiff(Affine(500, 0, -16_000, 0, -500, 16_000), CRS.from_epsg(3413)), 400, "reaches latitude 90"
    ),
}

BAD_PHOTOS = {
    "empty file": Bad(lambda: b"", 400, "The submitted file is empty"),
    "HTML named .jpg": Bad(lambda: b"<html><body onload=alert(1)>" * 20, 400, NOT_A_PHOTO),
    "a shell script named .jpg": Bad(lambda: b"#!/bin/sh\nrm -rf /\n" * 20, 400, NOT_A_PHOTO),
    "ZIP named .jpg": Bad(lambda: b"PK\x03\x04" + b"\0" * 400, 400, NOT_A_PHOTO),
    "a GeoTIFF named .jpg": Bad(utm_tiff, 400, NOT_A_PHOTO),
    "GIF": Bad(lambda: image_bytes("GIF"), 400, NOT_A_PHOTO, "a.gif"),
    "WebP": Bad(lambda: image_bytes("WEBP"), 400, NOT_A_PHOTO, "a.webp"),
    "BMP": Bad(lambda: image_bytes("BMP"), 400, NOT_A_PHOTO, "a.bmp"),
    "JPEG start-of-image only": Bad(lambda: b"\xff\xd8\xff", 400, NOT_A_PHOTO),
    "PNG signature only": Bad(lambda: b"\x89PNG\r\n\x1a\n", 400, NOT_A_PHOTO, "a.png"),
    "PNG cut after its header": Bad(lambda: image_bytes("PNG")[:33], 400, NOT_A_PHOTO, "a.png"),
    "PNG with a corrupt IDAT": Bad(png_bad_idat, 400, CORRUPT, "a.png"),
    "JPEG cut at 90%": Bad(lambda: (lambda j: j[: len(j) * 9 // 10])(image_bytes("JPEG", 512, 512)), 400, CORRUPT),
    "JPEG header claiming 65000 x 65000": Bad(lambda: jpeg_claiming(65000, 65000), 413, "pixels"),
    "PNG with a zTXt text bomb": Bad(png_text_bomb, 400, NOT_A_PHOTO, "a.png"),
    "a name only of control characters": Bad(drone_jpeg, 400, "No file was submitted", "\n\r\t"),
}


def _post(kind: str, client, mission_id: int, data: bytes, filename: str, **fields: object):  # noqa: ANN001, ANN201
    body = {"mission": mission_id, "file": upload(data, filename), **fields}
    return client.post(f"/api/v1/{kind}/", body, format="multipart")


def assert_refused(kind: str, bad: Bad) -> None:
    setup = team_setup()
    rows, files = Basemap.objects.count() + DroneImage.objects.count(), stored_files()
    response = _post(kind, client_for(setup.operator), setup.mission.id, bad.data(), bad.name, **bad.fields)
    assert response.status_code == bad.status, response.content[:500]
    body = response.json()
    assert bad.says in body["detail"], body
    assert Basemap.objects.count() + DroneImage.objects.count() == rows and stored_files() == files


@pytest.mark.parametrize("case", list(BAD_BASEMAPS))
def test_bad_basemaps_are_refused_naming_the_problem_and_nothing_is_stored(case: str) -> None:
    assert_refused("basemaps", BAD_BASEMAPS[case])


@pytest.mark.parametrize("case", list(BAD_PHOTOS))
def test_bad_drone_images_are_refused_naming_the_problem_and_nothing_is_stored(case: str) -> None:
    assert_refused("drone-images", BAD_PHOTOS[case])


@pytest.mark.parametrize("kind", ["basemaps", "drone-images"])
def test_one_byte_over_the_upload_limit_is_413_before_the_file_is_read(kind: str, settings) -> None:  # noqa: ANN001
    """At the limit a file is accepted; one byte over, even a file that is no image at all is refused for its size."""
    setup = team_setup()
    client = client_for(setup.operator)
    png = image_bytes("PNG", 64, 64)
    settings.MAX_UPLOAD_BYTES = len(png) + 10
    padded = png + b"\0" * 10  # trailing bytes after IEND: still the same PNG
    fields = {"bounds": BOUNDS} if kind == "basemaps" else {}
    assert _post(kind, client, setup.mission.id, padded, "a.png", **fields).status_code == 201
    files = stored_files()
    for data in (padded + b"\0", b"not an image" * (len(png) // 12 + 2)):
        response = _post(kind, client, setup.mission.id, data, "b.png", **fields)
        assert response.status_code == 413 and response.json()["code"] == "too_large", response.json()
        assert f"the largest file accepted is {settings.MAX_UPLOAD_BYTES / 1024:.0f} KiB" in response.json()["detail"]
    assert stored_files() == files


@pytest.mark.parametrize("kind", ["basemaps", "drone-images"])
def test_more_files_than_django_parses_is_a_json_400(kind: str) -> None:
    """Django stops parsing at DATA_UPLOAD_MAX_NUMBER_FILES (100) before any view runs; the API still answers JSON."""
    setup = team_setup()
    many = [upload(image_bytes("PNG", 8, 8), f"{i}.png") for i in range(101)]
    response = client_for(setup.operator).post(
        f"/api/v1/{kind}/", {"mission": setup.mission.id, "file": many}, format="multipart"
    )
    assert response.status_code == 400 and "files" in response.json()["detail"].lower(), response.content[:300]
    assert stored_files() == set() and Basemap.objects.count() + DroneImage.objects.count() == 0


# --- only the ingest can tell: accepted, then `failed` with a readable error, no COG --------------------------------


def test_a_geotiff_corrupt_in_the_middle_fails_its_ingest_with_a_readable_error() -> None:
    setup = team_setup()
    response = _post(
        "basemaps", client_for(setup.operator), setup.mission.id, tiff_with_corrupt_middle_block(), "m.tif"
    )
    assert response.status_code == 201, response.json()  # the upload reads the first and last blocks only
    basemap = ingested(response.json()["id"])
    assert basemap.status == JobStatus.FAILED and "GDAL could not read or convert the raster" in basemap.error
    assert not basemap.cog_file and stored_files() == {basemap.source_file.name}  # kept for a retry or a delete
    detail = client_for(setup.reviewer).get(f"/api/v1/basemaps/{basemap.id}/").json()
    assert detail["status"] == "failed" and detail["error"] == basemap.error and detail["ready"] is False


# --- odd but valid: accepted as what the bytes are, and ingested -------------------------------------------------


@pytest.mark.parametrize(
    ("case", "transform", "data"),
    [
        ("pixels running east to west", Affine(-2, 0, 5e5, 0, -2, 5e6), None),
        ("south-up rows", Affine(2, 0, 5e5, 0, 2, 5e6), None),
        ("rotated 30 degrees", Affine.translation(5e5, 5e6) * Affine.rotation(30) * Affine.scale(2, -2), None),
        ("one pixel", Affine(2, 0, 5e5, 0, -2, 5e6), lambda: geotiff_bytes(np.ones((1, 1, 1), np.uint8), UTM33,
                                                                          Affine(2, 0, 5e5, 0, -2, 5e6))),
        ("all nodata", Affine(2, 0, 5e5, 0, -2, 5e6),
         lambda: geotiff_bytes(np.full((1, 32, 32), -9999, np.int16), UTM33, Affine(2, 0, 5e5, 0, -2, 5e6),
                               nodata=-9999)),
        ("all NaN floats", Affine(2, 0, 5e5, 0, -2, 5e6),
         lambda: geotiff_bytes(np.full((1, 32, 32), np.nan, np.float32), UTM33, Affine(2, 0, 5e5, 0, -2, 5e6))),
    ],
)  # fmt: skip
def test_odd_but_valid_geotiffs_are_ingested_with_bounds_on_the_earth(case: str, transform: Affine, data) -> None:  # noqa: ANN001
    setup = team_setup()
    tiff = data() if data else utm_tiff(transform)
    response = _post("basemaps", client_for(setup.operator), setup.mission.id, tiff, "m.tif")
    assert response.status_code == 201, response.json()
    basemap = ingested(response.json()["id"])
    assert basemap.status == JobStatus.SUCCEEDED, basemap.error
    west, south, east, north = basemap.bounds
    assert 14.9 < west < east < 15.1 and 45.1 < south < north < 45.2  # around (15 E, 45.15 N), where 5e5, 5e6 is
    tile = client_for(setup.operator).get(f"/tiles/{basemap.id}/{basemap.max_zoom}/0/0.png")
    assert tile.status_code == 204  # rendered (this tile is far away): no error


def _served(client, image_id: int) -> tuple[str, str]:  # noqa: ANN001
    served = client.get(f"/api/v1/drone-images/{image_id}/file/")
    assert served.status_code == 200
    return served["Content-Type"], served["X-Content-Type-Options"]


@pytest.mark.parametrize(
    ("case", "data", "name", "stored_as", "content_type"),
    [
        ("a JPEG with a ZIP appended", lambda: drone_jpeg(64, 48) + b"PK\x03\x04" + b"\0" * 200, "a.zip", ".jpg",
         "image/jpeg"),
        ("a JPEG with HTML appended", lambda: drone_jpeg(64, 48) + b"<html><script>alert(1)</script>", "a.html",
         ".jpg", "image/jpeg"),
        ("a PNG named .tif", lambda: image_bytes("PNG", 64, 48), "photo.tif", ".png", "image/png"),
        ("a JPEG named .png", lambda: drone_jpeg(64, 48), "photo.png", ".jpg", "image/jpeg"),
    ],
)  # fmt: skip
def test_polyglot_photos_are_stored_and_served_only_as_the_image_their_bytes_are(
    case: str,
    data,
    name: str,
    stored_as: str,
    content_type: str,  # noqa: ANN001
) -> None:
    """The kind comes from the bytes, never the name; the file endpoint serves that image type with nosniff, so a
    browser never renders the appended HTML. (Trailing data is kept: DJI photos carry a preview after the JPEG.)"""
    setup = team_setup()
    client = client_for(setup.operator)
    response = _post("drone-images", client, setup.mission.id, data(), name)
    assert response.status_code == 201, response.json()
    image = DroneImage.objects.get(pk=response.json()["id"])
    assert image.file.name.endswith(stored_as) and image.original_name == name
    assert _served(client, image.id) == (content_type, "nosniff")


@pytest.mark.parametrize(
    ("case", "data", "name", "fields", "kind", "stored_as"),
    [
        ("a PNG named .tif, with bounds", lambda: image_bytes("PNG"), "map.tif", {"bounds": BOUNDS}, "image", ".png"),
        ("a GeoTIFF named .png", utm_tiff, "map.png", {}, "geotiff", ".tif"),
        ("a JPEG with a ZIP appended", lambda: image_bytes("JPEG") + b"PK\x03\x04" + b"\0" * 200, "map.jpg",
         {"bounds": BOUNDS}, "image", ".jpg"),
    ],
)  # fmt: skip
def test_polyglot_basemaps_are_taken_as_what_their_bytes_are(case: str, data, name, fields, kind, stored_as) -> None:  # noqa: ANN001
    setup = team_setup()
    response = _post("basemaps", client_for(setup.operator), setup.mission.id, data(), name, **fields)
    assert response.status_code == 201, response.json()
    basemap = ingested(response.json()["id"])
    assert basemap.source_kind == kind and basemap.source_file.name.endswith(stored_as)
    assert basemap.status == JobStatus.SUCCEEDED, basemap.error


# --- file names: kept for display only, never as a path ---------------------------------------------------------

NAMES = [
    ("../../etc/passwd.jpg", "passwd.jpg"),
    ("..%2F..%2Fetc%2Fpasswd.jpg", "%2F..%2Fetc%2Fpasswd.jpg"),  # not decoded: it is never a path
    ("photo\u202egpj.exe", "photogpj.exe"),  # the right-to-left override that shows "photoexe.jpg" is dropped
    ("\ufeffmap\u200b.jpg", "map.jpg"),  # byte-order mark and zero-width space
    ("line\nbreak\r\tand\x00nul.jpg", "linebreakandnul.jpg"),
    ("....jpg", "jpg"),
    ("<img src=x onerror=alert(1)>.jpg", "<img src=x onerror=alert(1)>.jpg"),  # shown with textContent only
    ("CON.jpg", "CON.jpg"),
    ("e\u0301te\u0301.jpg", "été.jpg"),  # decomposed accents are composed (NFC)
    ("a" * 300 + ".jpg", "a" * 190 + ".jpg"),
    ("東" * 300, "東" * 200),
]


@pytest.mark.parametrize("kind", ["basemaps", "drone-images"])
@pytest.mark.parametrize(("name", "shown"), NAMES)
def test_file_names_are_cleaned_for_display_and_files_stored_under_generated_names(kind, name, shown) -> None:  # noqa: ANN001
    setup = team_setup()
    data, fields = (image_bytes("PNG", 48, 32), {"bounds": BOUNDS}) if kind == "basemaps" else (drone_jpeg(48, 32), {})
    response = _post(kind, client_for(setup.operator), setup.mission.id, data, name, **fields)
    assert response.status_code == 201, response.json()
    row = (Basemap if kind == "basemaps" else DroneImage).objects.get(pk=response.json()["id"])
    stored = row.source_file.name if kind == "basemaps" else row.file.name
    assert row.original_name == shown and response.json()["original_name"] == shown
    folder, generated = stored.rsplit("/", 1)
    assert folder in ("basemaps/source", "drone") and generated.isascii() and len(generated) == 32 + 4
    assert stored in stored_files()
    if kind == "basemaps":
        assert len(row.name) <= 200 and "\n" not in row.name


# --- metadata: bad EXIF never fails an upload, and never a later read ------------------------------------------


@pytest.mark.parametrize(
    ("case", "gps", "exif"),
    [
        ("a time zone of +99:00", None, {36867: "2024:05:06 07:08:09", 36881: "+99:00"}),
        ("a time zone of +24:00", None, {36867: "2024:05:06 07:08:09", 36881: "+24:00"}),
        ("year 9999, west of UTC (year 10000 in UTC)", None, {36867: "9999:12:31 23:59:59", 36881: "-05:00"}),
        ("year 1, east of UTC (year 0 in UTC)", None, {36867: "0001:01:01 00:00:01", 36881: "+05:00"}),
        ("year 1 without a zone", None, {36867: "0001:01:01 00:00:01"}),
        ("a GPS time of a billion hours", gps_time("9999:12:31", 10**9), None),
        ("a GPS date of 9999-12-31 23:00 plus 2 h", gps_time("9999:12:31", 25), None),
        ("a sub-second of 50 digits", None, {36867: "2024:05:06 07:08:09", 37521: "9" * 50}),
    ],
)
def test_impossible_capture_times_are_recorded_as_unknown(case: str, gps, exif) -> None:  # noqa: ANN001
    setup = team_setup()
    client = client_for(setup.operator)
    response = _post("drone-images", client, setup.mission.id, drone_jpeg(64, 48, gps=gps, exif=exif), "a.jpg")
    assert response.status_code == 201, response.content[:300]
    captured = response.json()["captured_at"]
    assert captured is None or captured.startswith("2024-05-06"), captured
    assert client.get(f"/api/v1/drone-images/{response.json()['id']}/").status_code == 200
    assert client.get("/api/v1/drone-images/").status_code == 200
