"""Basemaps: upload (GeoTIFF in any CRS, PNG/JPEG + bounds), the real ingest to a COG, retry, delete, and every
bad upload refused with a 4xx that names the problem and stores nothing."""

from __future__ import annotations

import hashlib
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from django.core.files.base import ContentFile
from rasterio.crs import CRS
from rasterio.warp import transform_bounds

from core.models import JobStatus
from localization.models import Target
from missions.models import Basemap, DroneImage
from missions.rasters import gsd_metres, metres_per_degree_lat, metres_per_degree_lon
from tests.conftest import drain_queue
from tests.platform.factories import client_for, make_mission, team_setup
from tests.platform.imagery_fixtures import (
    UTM33,
    geotiff_bytes,
    image_bytes,
    ingested,
    marked_utm_geotiff,
    png_bomb,
    stored_files,
    upload_basemap,
)

pytestmark = pytest.mark.django_db
PNG_BOUNDS = [10.0, 50.0, 10.01, 50.006]


def _read_stored_cog(basemap: Basemap) -> dict:
    with tempfile.TemporaryDirectory() as tmp, basemap.cog_file.open("rb") as f:
        path = Path(tmp) / "cog.tif"
        path.write_bytes(f.read())
        with rasterio.open(path) as ds:
            return {
                "layout": ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT"),
                "overviews": ds.overviews(1),
                "crs": ds.crs,
                "sha": hashlib.sha256(path.read_bytes()).hexdigest(),
            }


def test_utm_geotiff_upload_is_queued_then_ingested_to_a_cog_with_right_lonlat_bounds() -> None:
    setup = team_setup()
    marked = marked_utm_geotiff(1024)  # big enough for an overview level under 512-px COG blocks
    response = upload_basemap(client_for(setup.operator), setup.mission.id, marked.data, name="Ortho North")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["ready"] is False and body["tile_url_template"] is None
    assert body["name"] == "Ortho North" and body["source_kind"] == "geotiff" and body["original_name"] == "map.tif"

    basemap = ingested(body["id"])
    assert basemap.status == JobStatus.SUCCEEDED and basemap.progress == 1.0 and basemap.error == ""
    expected = transform_bounds(UTM33, "EPSG:4326", *rasterio.transform.array_bounds(1024, 1024, marked.transform))
    assert basemap.crs == "EPSG:32633" and (basemap.width, basemap.height) == (1024, 1024)
    assert basemap.bounds == pytest.approx(list(expected), abs=1e-7)
    west, south, east, north = basemap.bounds
    assert west < marked.lon < east and south < marked.lat < north
    assert basemap.transform == pytest.approx(list(marked.transform)[:6])
    assert basemap.gsd_m == pytest.approx(2.0)
    cog = _read_stored_cog(basemap)
    assert cog["layout"] == "COG" and cog["overviews"] and cog["crs"] == UTM33  # kept in its source CRS
    assert cog["sha"] == basemap.cog_sha256

    detail = client_for(setup.reviewer).get(f"/api/v1/basemaps/{basemap.id}/").json()
    assert detail["ready"] is True and detail["bounds"] == pytest.approx(basemap.bounds)
    assert detail["tile_url_template"] == f"/tiles/{basemap.id}/{{z}}/{{x}}/{{y}}.png?v={basemap.cog_sha256[:12]}"
    assert detail["min_zoom"] <= detail["max_zoom"] and detail["max_zoom"] >= 15


@pytest.mark.parametrize(("fmt", "bounds"), [("PNG", "10.0,50.0,10.01,50.006"), ("JPEG", "[10, 50, 10.01, 50.006]")])
def test_png_or_jpeg_with_bounds_is_georeferenced_in_lonlat(fmt: str, bounds: str) -> None:
    setup = team_setup()
    data = image_bytes(fmt, width=400, height=300)
    response = upload_basemap(client_for(setup.operator), setup.mission.id, data, filename=f"scan.{fmt.lower()}",
                              bounds=bounds)  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["source_bounds"] == PNG_BOUNDS and response.json()["name"] == "scan"
    basemap = ingested(response.json()["id"])
    assert basemap.status == JobStatus.SUCCEEDED, basemap.error
    assert basemap.crs == "EPSG:4326" and basemap.bounds == pytest.approx(PNG_BOUNDS, abs=1e-9)
    lat = math.radians(50.003)
    expected_gsd = math.sqrt(0.01 / 400 * metres_per_degree_lon(lat) * 0.006 / 300 * metres_per_degree_lat(lat))
    assert basemap.gsd_m == pytest.approx(expected_gsd, rel=1e-3)
    assert _read_stored_cog(basemap)["layout"] == "COG"


def test_upload_enqueues_the_ingest_on_commit(broker_queues, django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    setup = team_setup()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload_basemap(client_for(setup.operator), setup.mission.id, marked_utm_geotiff(256).data)
    assert response.status_code == 201 and len(callbacks) == 1
    assert drain_queue("cpu") == [("workers.ingest_basemap", [response.json()["id"]])]
    assert Basemap.objects.get(pk=response.json()["id"]).task_id


def test_list_filters_by_mission_and_hides_other_teams() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    second = make_mission(setup.team, "second")
    first_id = upload_basemap(client, setup.mission.id, marked_utm_geotiff(256).data).json()["id"]
    upload_basemap(client, second.id, marked_utm_geotiff(256).data)
    listed = client.get(f"/api/v1/basemaps/?mission={setup.mission.id}").json()
    assert [b["id"] for b in listed["results"]] == [first_id]
    outsider = client_for(setup.outsider)
    assert outsider.get("/api/v1/basemaps/").json()["count"] == 0
    assert outsider.get(f"/api/v1/basemaps/?mission={setup.mission.id}").json()["count"] == 0
    assert outsider.get(f"/api/v1/basemaps/{first_id}/").status_code == 404


def test_gsd_is_in_metres_on_the_ground_for_geographic_and_mercator_crs() -> None:
    lat60 = math.radians(60)
    geographic = gsd_metres(CRS.from_epsg(4326), Affine(1e-5, 0, 10, 0, -1e-5, 60.0025), 500, 500)
    assert geographic == pytest.approx(1e-5 * math.sqrt(metres_per_degree_lon(lat60) * metres_per_degree_lat(lat60)))
    # Web Mercator metres are 1/cos(lat) ground metres: 2 grid metres at 60 N are 1 m on the ground
    y60 = 8399737.89
    mercator = gsd_metres(CRS.from_epsg(3857), Affine(2, 0, 1e6, 0, -2, y60 + 500), 500, 500)
    assert mercator == pytest.approx(1.0, rel=1e-3)


# --- bad uploads: a clear 4xx, no row, no file ------------------------------------------------------------------


def _refused(client, mission_id: int, data: bytes, filename: str = "map.tif", **fields: object) -> dict:  # noqa: ANN001
    before_rows, before_files = Basemap.objects.count(), stored_files()
    response = upload_basemap(client, mission_id, data, filename=filename, **fields)
    assert Basemap.objects.count() == before_rows and stored_files() == before_files
    return {"status": response.status_code, **response.json()}


def test_not_an_image_and_truncated_files_are_refused() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    text = _refused(client, setup.mission.id, b"hello, this is not a raster" * 10, filename="notes.tif")
    assert text["status"] == 400 and text["field"] == "file" and "not a GeoTIFF, PNG or JPEG" in text["detail"]
    tiff = marked_utm_geotiff(256).data
    cut = _refused(client, setup.mission.id, tiff[: len(tiff) // 2])
    assert cut["status"] == 400 and cut["field"] == "file" and "truncated or corrupt" in cut["detail"]
    png = image_bytes("PNG")
    cut_png = _refused(client, setup.mission.id, png[: len(png) // 2], filename="a.png", bounds="10,50,10.01,50.01")
    assert cut_png["status"] == 400 and "truncated or corrupt" in cut_png["detail"]
    jpeg = image_bytes("JPEG")
    cut_jpeg = _refused(client, setup.mission.id, jpeg[: len(jpeg) // 2], filename="a.jpg", bounds="10,50,10.01,50.01")
    assert cut_jpeg["status"] == 400 and "truncated or corrupt" in cut_jpeg["detail"]


def test_geotiff_without_georeferencing_is_refused_at_upload() -> None:
    setup = team_setup()
    plain = geotiff_bytes(np.zeros((1, 64, 64), np.uint8), crs=None, transform=None)
    refused = _refused(client_for(setup.operator), setup.mission.id, plain)
    assert refused["status"] == 400 and refused["field"] == "file"
    assert "no georeferencing" in refused["detail"] and "bounds" in refused["detail"]
    no_crs = geotiff_bytes(np.zeros((1, 64, 64), np.uint8), crs=None, transform=Affine(1, 0, 5e5, 0, -1, 5e6))
    refused = _refused(client_for(setup.operator), setup.mission.id, no_crs)
    assert refused["status"] == 400 and "no CRS" in refused["detail"]


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ("10,50,10.01", "four numbers"),
        ("[10, 50, 10.01, 50.01, 3]", "four numbers"),
        ("west,50,10.01,50.01", "not a number"),
        ("nan,50,10.01,50.01", "finite"),
        ("10,50,inf,50.01", "finite"),
        ("10.01,50,10,50.01", "west (10.01) must be less than east (10.0)"),
        ("10,50.01,10.01,50", "south (50.01) must be less than north (50.0)"),
        ("-190,50,10,51", "within -180..180"),
        ("10,-91,11,50", "within -90..90"),
        ("[true, 50, 11, 51]", "four numbers"),
        ("{", "four numbers"),
    ],
)
def test_bad_bounds_are_refused_naming_the_problem(bounds: str, message: str) -> None:
    setup = team_setup()
    refused = _refused(
        client_for(setup.operator), setup.mission.id, image_bytes("PNG"), filename="a.png", bounds=bounds
    )
    assert refused["status"] == 400 and refused["field"] == "bounds" and message in refused["detail"]


def test_bounds_are_required_for_png_and_refused_for_geotiff() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    missing = _refused(client, setup.mission.id, image_bytes("PNG"), filename="a.png")
    assert missing["status"] == 400 and missing["field"] == "bounds" and "needs its bounds" in missing["detail"]
    extra = _refused(client, setup.mission.id, marked_utm_geotiff(256).data, bounds="10,50,11,51")
    assert extra["status"] == 400 and extra["field"] == "bounds" and "only for PNG/JPEG" in extra["detail"]


def test_decompression_bombs_and_huge_uploads_are_refused(settings) -> None:  # noqa: ANN001
    setup = team_setup()
    client = client_for(setup.operator)
    bomb = _refused(client, setup.mission.id, png_bomb(), filename="bomb.png", bounds="10,50,11,51")
    assert bomb["status"] == 413 and bomb["field"] == "file" and "pixels" in bomb["detail"]
    settings.MAX_BASEMAP_PIXELS = 100_000
    many = _refused(client, setup.mission.id, marked_utm_geotiff(512).data)
    assert many["status"] == 413 and "512 x 512 = 262,144 pixels" in many["detail"]
    assert "for a basemap is 100,000 pixels (MAX_BASEMAP_PIXELS)" in many["detail"]
    settings.MAX_BASEMAP_PIXELS = 10**9
    settings.MAX_UPLOAD_BYTES = 100_000
    huge = _refused(client, setup.mission.id, marked_utm_geotiff(512).data)
    assert huge["status"] == 413 and "largest file accepted is 98 KiB" in huge["detail"]


def test_unknown_and_other_teams_missions_are_both_no_such_mission() -> None:
    setup = team_setup()
    data = marked_utm_geotiff(256).data
    other_mission = make_mission(setup.other_team, "secret")
    for client, mission_id in ((client_for(setup.operator), 999_999), (client_for(setup.operator), other_mission.id)):
        refused = _refused(client, mission_id, data)
        assert refused["status"] == 400 and refused["field"] == "mission"
        assert refused["detail"] == f"no such mission: {mission_id}"
    not_a_number = _refused(client_for(setup.operator), "abc", data)  # type: ignore[arg-type]
    assert not_a_number["status"] == 400 and "mission" in not_a_number["errors"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("../../etc/passwd.tif", "passwd.tif"), ("..\\..\\boot.ini.tif", "boot.ini.tif"), ("Карта 東京 ✓.tif", None)],
)
def test_file_names_are_sanitised_and_never_used_as_paths(name: str, expected: str | None) -> None:
    setup = team_setup()
    response = upload_basemap(client_for(setup.operator), setup.mission.id, marked_utm_geotiff(256).data, filename=name)
    assert response.status_code == 201, response.json()
    basemap = Basemap.objects.get(pk=response.json()["id"])
    assert basemap.original_name == (expected or name) and "/" not in basemap.original_name
    stored = basemap.source_file.name
    assert stored.startswith("basemaps/source/") and stored.endswith(".tif") and ".." not in stored
    assert stored.isascii() and basemap.source_file.storage.exists(stored)


# --- ingest failures, retry, delete -----------------------------------------------------------------------------


def _basemap_with_source(mission, data: bytes, kind: str = "geotiff") -> Basemap:  # noqa: ANN001
    basemap = Basemap(mission=mission, name="raw", source_kind=kind)
    basemap.source_file.save("raw.tif", ContentFile(data), save=False)
    basemap.save()
    return basemap


def test_a_failed_ingest_says_why_and_can_be_retried_only_when_failed() -> None:
    setup = team_setup()
    broken = _basemap_with_source(setup.mission, b"II*\x00 garbage that GDAL cannot read")
    assert ingested(broken.id).status == JobStatus.FAILED
    broken.refresh_from_db()
    assert "could not read" in broken.error and broken.finished_at is not None
    tile = client_for(setup.operator).get(f"/tiles/{broken.id}/0/0/0.png")
    assert tile.status_code == 404 and "ingest failed" in tile.json()["detail"]

    retried = client_for(setup.operator).post(f"/api/v1/basemaps/{broken.id}/retry/")
    assert retried.status_code == 200 and retried.json()["status"] == "queued" and retried.json()["error"] == ""
    again = client_for(setup.operator).post(f"/api/v1/basemaps/{broken.id}/retry/")
    assert again.status_code == 409 and "only a failed ingest" in again.json()["detail"]
    assert client_for(setup.outsider).post(f"/api/v1/basemaps/{broken.id}/retry/").status_code == 404


def test_ingest_skips_rows_that_are_gone_or_already_done() -> None:
    setup = team_setup()
    from missions.ingest import basemap_ingest

    assert basemap_ingest(basemap_id=987_654) == "skipped"
    basemap = _basemap_with_source(setup.mission, marked_utm_geotiff(256).data)
    assert basemap_ingest(basemap_id=basemap.id) == "succeeded"
    assert basemap_ingest(basemap_id=basemap.id) == "skipped"  # a duplicate message does nothing


def test_only_admins_delete_and_never_a_basemap_that_targets_use(django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    setup = team_setup()
    used = ingested(_basemap_with_source(setup.mission, marked_utm_geotiff(256).data).id)
    free = ingested(_basemap_with_source(setup.mission, marked_utm_geotiff(256).data).id)
    drone = DroneImage(mission=setup.mission, original_name="f.jpg", sha256="0" * 64, width=8, height=8)
    drone.file.save("f.jpg", ContentFile(image_bytes("JPEG", 8, 8)), save=False)
    drone.width, drone.height = 8, 8
    drone.save()
    Target.objects.create(mission=setup.mission, drone_image=drone, basemap=used, click_x=1, click_y=1)

    assert client_for(setup.operator).delete(f"/api/v1/basemaps/{free.id}/").status_code == 403
    assert client_for(setup.reviewer).delete(f"/api/v1/basemaps/{free.id}/").status_code == 403
    assert client_for(setup.outsider).delete(f"/api/v1/basemaps/{free.id}/").status_code == 404
    conflict = client_for(setup.admin).delete(f"/api/v1/basemaps/{used.id}/")
    assert conflict.status_code == 409 and conflict.json()["targets"] == 1
    assert "used by 1 target" in conflict.json()["detail"] and Basemap.objects.filter(pk=used.id).exists()
    files = {free.source_file.name, free.cog_file.name}
    assert files <= stored_files()
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(setup.admin).delete(f"/api/v1/basemaps/{free.id}/").status_code == 204
    assert not Basemap.objects.filter(pk=free.id).exists() and not files & stored_files()
