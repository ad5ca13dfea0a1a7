"""Drone images: upload one photo per request, its EXIF/XMP metadata, thumbnail, permission-checked files, and
every bad upload refused with a 4xx that names the problem and stores nothing."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational
from rest_framework.test import APIClient

from missions.models import Basemap, DroneImage
from tests.platform.factories import client_for, make_mission, team_setup
from tests.platform.imagery_fixtures import image_bytes, png_bomb, stored_files, upload

pytestmark = pytest.mark.django_db

DJI_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:AbsoluteAltitude="+512.30"'
    ' drone-dji:RelativeAltitude="+80.10" drone-dji:GimbalYawDegree="{yaw}" drone-dji:FlightYawDegree="+3.0"'
    ' drone-dji:GimbalPitchDegree="-45.00"/></rdf:RDF></x:xmpmeta>'
)


def drone_jpeg(
    width: int = 640,
    height: int = 480,
    *,
    gps: dict | None = None,
    exif: dict | None = None,
    xmp: str | None = None,
    orientation: int | None = None,
) -> bytes:
    """A JPEG with the given GPS IFD / Exif IFD tags (EXIF tag numbers) and XMP packet, written with Pillow."""
    metadata = Image.Exif()
    if gps:
        metadata.get_ifd(ExifTags.IFD.GPSInfo).update(gps)
    if exif:
        metadata.get_ifd(ExifTags.IFD.Exif).update(exif)
    if orientation:
        metadata[ExifTags.Base.Orientation] = orientation
    buffer = io.BytesIO()
    extra = {"xmp": xmp.encode()} if xmp else {}
    Image.new("RGB", (width, height), (70, 120, 40)).save(buffer, "JPEG", exif=metadata, **extra)
    return buffer.getvalue()


ZURICH_GPS = {  # 47 deg 30' 36" N, 8 deg 32' 12.34" E, 123.45 m, image direction 270.5 deg
    1: "N",
    2: (IFDRational(47), IFDRational(30), IFDRational(36)),
    3: "E",
    4: (IFDRational(8), IFDRational(32), IFDRational(1234, 100)),
    5: b"\x00",
    6: IFDRational(12345, 100),
    17: IFDRational(2705, 10),
}


def post_image(client, mission_id: int, data: bytes, name: str = "DJI_0001.JPG"):  # noqa: ANN001, ANN201
    return client.post("/api/v1/drone-images/", {"mission": mission_id, "file": upload(data, name)}, format="multipart")


def test_exif_gps_heading_time_and_dji_xmp_pitch_are_read() -> None:
    setup = team_setup()
    data = drone_jpeg(
        gps=ZURICH_GPS,
        exif={36867: "2024:05:06 07:08:09", 36881: "+02:00", 37521: "25"},
        xmp=DJI_XMP.format(yaw="-12.5"),
    )
    response = post_image(client_for(setup.operator), setup.mission.id, data)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["gps_lat"] == pytest.approx(47.51) and body["gps_lon"] == pytest.approx(8 + 32 / 60 + 12.34 / 3600)
    assert body["gps_alt_m"] == pytest.approx(123.45) and body["rel_alt_m"] == pytest.approx(80.1)
    assert body["heading_deg"] == pytest.approx(270.5)  # EXIF GPSImgDirection comes first
    assert body["pitch_deg"] == pytest.approx(-45.0) and body["has_gps"] is True
    assert datetime.fromisoformat(body["captured_at"]) == datetime(2024, 5, 6, 5, 8, 9, 250000, tzinfo=UTC)
    assert (body["width"], body["height"]) == (640, 480) and body["original_name"] == "DJI_0001.JPG"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_photo_says_how_far_its_gps_lies_from_every_basemap_of_its_mission() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    body = post_image(client, setup.mission.id, drone_jpeg(gps=ZURICH_GPS)).json()
    assert body["gps_off_basemaps_km"] is None  # no basemap yet: nothing to measure against
    Basemap.objects.create(
        mission=setup.mission, name="Cairo", bounds=[31.20, 30.00, 31.30, 30.10], created_by=setup.operator
    )
    far = client.get(f"/api/v1/drone-images/{body['id']}/").json()["gps_off_basemaps_km"]
    assert 2700 < far < 2800  # Zurich to Cairo's basemap
    Basemap.objects.create(
        mission=setup.mission, name="Zurich", bounds=[8.50, 47.45, 8.60, 47.55], created_by=setup.operator
    )
    listed = client.get(f"/api/v1/drone-images/?mission={setup.mission.id}").json()["results"]
    assert [row["gps_off_basemaps_km"] for row in listed] == [0.0]  # on one of them
    other = post_image(client, setup.mission.id, drone_jpeg(width=320), name="no-gps.jpg").json()
    assert other["gps_off_basemaps_km"] is None


def test_heading_falls_back_to_dji_gimbal_then_flight_yaw_and_refs_give_signs() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    south_west = {**ZURICH_GPS, 1: "S", 3: "W", 5: b"\x01"}
    del south_west[17]
    body = post_image(client, setup.mission.id, drone_jpeg(gps=south_west, xmp=DJI_XMP.format(yaw="-12.5"))).json()
    assert (
        body["gps_lat"] == pytest.approx(-47.51) and body["gps_lon"] < 0 and body["gps_alt_m"] == pytest.approx(-123.45)
    )
    assert body["heading_deg"] == pytest.approx(347.5)  # -12.5 deg as a compass heading
    flight_only = DJI_XMP.replace(' drone-dji:GimbalYawDegree="{yaw}"', "")
    body = post_image(client, setup.mission.id, drone_jpeg(width=320, xmp=flight_only)).json()
    assert body["heading_deg"] == pytest.approx(3.0) and body["gps_lat"] is None and body["has_gps"] is False
    assert body["gps_alt_m"] == pytest.approx(512.3)  # DJI's absolute altitude when EXIF has none


def test_capture_time_without_offset_uses_the_gps_clock_else_utc() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    gps_clock = {29: "2024:05:06", 7: (IFDRational(5), IFDRational(8), IFDRational(10))}
    body = post_image(client, setup.mission.id, drone_jpeg(gps=gps_clock, exif={36867: "2024:05:06 07:08:09"})).json()
    assert datetime.fromisoformat(body["captured_at"]) == datetime(2024, 5, 6, 5, 8, 10, tzinfo=UTC)
    body = post_image(client, setup.mission.id, drone_jpeg(width=600, exif={36867: "2024:05:06 07:08:09"})).json()
    assert datetime.fromisoformat(body["captured_at"]) == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    body = post_image(client, setup.mission.id, drone_jpeg(width=500, exif={36867: "not a date"})).json()
    assert body["captured_at"] is None


def test_a_photo_without_metadata_is_accepted_with_empty_fields() -> None:
    setup = team_setup()
    body = post_image(client_for(setup.operator), setup.mission.id, image_bytes("PNG", mode="RGBA"), "a.png").json()
    assert body["has_gps"] is False and body["heading_deg"] is None and body["captured_at"] is None
    assert (body["width"], body["height"]) == (256, 192)


def test_files_and_thumbnails_are_served_only_through_permission_checked_endpoints() -> None:
    setup = team_setup()
    data = drone_jpeg(1000, 500)
    body = post_image(client_for(setup.operator), setup.mission.id, data, "Brücke Ост.jpg").json()
    reviewer = client_for(setup.reviewer)
    original = reviewer.get(body["file_url"])
    assert original.status_code == 200 and b"".join(original.streaming_content) == data
    assert (
        original["Content-Type"] == "image/jpeg"
        and "filename*=utf-8''Br%C3%BCcke%20%D0%9E%D1%81%D1%82.jpg" in (original["Content-Disposition"])
    )
    thumb = reviewer.get(body["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    thumbnail = Image.open(io.BytesIO(b"".join(thumb.streaming_content)))
    assert thumbnail.format == "JPEG" and thumbnail.size == (320, 160)
    assert reviewer.get(body["file_url"], HTTP_ACCEPT="image/webp,image/*").status_code == 200  # an <img> request
    assert client_for(setup.outsider).get(body["file_url"]).status_code == 404
    assert client_for(setup.outsider).get(body["thumbnail_url"]).status_code == 404
    assert APIClient().get(body["file_url"]).status_code in (401, 403)
    assert "media" not in body["file_url"]


def test_thumbnails_are_upright_as_browsers_show_the_photo() -> None:
    setup = team_setup()
    body = post_image(client_for(setup.operator), setup.mission.id, drone_jpeg(640, 480, orientation=6)).json()
    assert (body["width"], body["height"]) == (640, 480)  # stored pixels, as the model reads them
    thumb = client_for(setup.operator).get(body["thumbnail_url"])
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size == (240, 320)


def test_list_filters_by_mission_and_hides_other_teams() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    other = make_mission(setup.team, "other")
    first = post_image(client, setup.mission.id, drone_jpeg(300, 200)).json()
    post_image(client, other.id, drone_jpeg(200, 300))
    listed = client.get(f"/api/v1/drone-images/?mission={setup.mission.id}").json()
    assert [image["id"] for image in listed["results"]] == [first["id"]]
    assert client.get(f"/api/v1/drone-images/{first['id']}/").json()["sha256"] == first["sha256"]
    assert client_for(setup.outsider).get("/api/v1/drone-images/").json()["count"] == 0
    assert client_for(setup.outsider).get(f"/api/v1/drone-images/{first['id']}/").status_code == 404


def test_the_same_file_twice_in_a_mission_returns_the_first_upload() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    data = drone_jpeg(300, 200)
    first = post_image(client, setup.mission.id, data)
    files = stored_files()
    again = post_image(client, setup.mission.id, data, "copy.jpg")
    assert (first.status_code, again.status_code) == (201, 200) and again.json()["id"] == first.json()["id"]
    assert stored_files() == files and DroneImage.objects.count() == 1


# --- bad uploads: a clear 4xx, no row, no file ------------------------------------------------------------------


def _refused(client, mission_id: object, data: bytes, name: str = "x.jpg") -> dict:  # noqa: ANN001
    before_rows, before_files = DroneImage.objects.count(), stored_files()
    response = post_image(client, mission_id, data, name)
    assert DroneImage.objects.count() == before_rows and stored_files() == before_files
    return {"status": response.status_code, **response.json()}


def test_not_an_image_truncated_and_bombs_are_refused(settings) -> None:  # noqa: ANN001
    setup = team_setup()
    client = client_for(setup.operator)
    text = _refused(client, setup.mission.id, b"%PDF-1.4 not a photo" * 20, "photo.jpg")
    assert text["status"] == 400 and text["field"] == "file" and "not a JPEG or PNG image" in text["detail"]
    jpeg = drone_jpeg(400, 300, gps=ZURICH_GPS)
    cut = _refused(client, setup.mission.id, jpeg[: len(jpeg) * 2 // 3])
    assert cut["status"] == 400 and "truncated or corrupt" in cut["detail"]
    png = image_bytes("PNG")
    assert "truncated or corrupt" in _refused(client, setup.mission.id, png[: len(png) // 2], "a.png")["detail"]
    bomb = _refused(client, setup.mission.id, png_bomb(), "bomb.png")
    assert bomb["status"] == 413 and "pixels" in bomb["detail"]
    settings.MAX_DRONE_IMAGE_PIXELS = 10_000
    many = _refused(client, setup.mission.id, drone_jpeg(200, 100))
    assert many["status"] == 413 and "200 x 100 = 20,000 pixels" in many["detail"]
    assert "MAX_DRONE_IMAGE_PIXELS" in many["detail"]


def test_a_drone_photo_has_its_own_pixel_limit_below_a_basemaps(settings) -> None:  # noqa: ANN001
    # a 13000 x 13000 PNG of a few hundred bytes: within a basemap's limit, far over a drone photo's (64 MP)
    assert settings.MAX_DRONE_IMAGE_PIXELS < 13000 * 13000 <= settings.MAX_BASEMAP_PIXELS
    setup = team_setup()
    refused = _refused(client_for(setup.operator), setup.mission.id, png_bomb(13000, 13000), "big.png")
    assert refused["status"] == 413 and "169,000,000 pixels" in refused["detail"]
    assert f"for a drone image is {settings.MAX_DRONE_IMAGE_PIXELS:,} pixels" in refused["detail"]
    assert not DroneImage.objects.exists()


def test_uploads_over_the_size_limit_are_413(settings) -> None:  # noqa: ANN001
    setup = team_setup()
    settings.MAX_UPLOAD_BYTES = 20_000
    # ~30 kB: refused after parsing; ~120 kB: refused from Content-Length before the body is read
    for side in (100, 200):
        refused = _refused(client_for(setup.operator), setup.mission.id, image_bytes("PNG", side, side), "big.png")
        assert refused["status"] == 413 and refused["code"] == "too_large"
        assert "the largest file accepted is 20 KiB" in refused["detail"]


def test_unknown_and_other_teams_missions_are_both_no_such_mission() -> None:
    setup = team_setup()
    foreign = make_mission(setup.other_team, "secret")
    for mission_id in (123_456_789, foreign.id):
        refused = _refused(client_for(setup.operator), mission_id, drone_jpeg(100, 100))
        assert refused["status"] == 400 and refused["field"] == "mission"
        assert refused["detail"] == f"no such mission: {mission_id}"


def test_one_file_per_request_and_a_file_is_required() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    two = client.post(
        "/api/v1/drone-images/",
        {
            "mission": setup.mission.id,
            "file": [upload(drone_jpeg(100, 100), "a.jpg"), upload(drone_jpeg(90, 90), "b.jpg")],
        },
        format="multipart",
    )
    assert two.status_code == 400 and "one file per request" in two.json()["detail"]
    none = client.post("/api/v1/drone-images/", {"mission": setup.mission.id}, format="multipart")
    assert none.status_code == 400 and "file" in none.json()["errors"]
    assert DroneImage.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../../etc/cron.d/evil.jpg", "evil.jpg"),
        ("C:\\Users\\pilot\\DJI_0042.JPG", "DJI_0042.JPG"),
        ("航拍 照片 №1.jpg", "航拍 照片 №1.jpg"),
        ("bad\x00name\n.jpg", "badname.jpg"),
        ("....", "upload"),
    ],
)
def test_file_names_are_sanitised_and_files_stored_under_generated_names(name: str, expected: str) -> None:
    setup = team_setup()
    response = post_image(client_for(setup.operator), setup.mission.id, drone_jpeg(120, 90), name)
    assert response.status_code == 201, response.json()
    image = DroneImage.objects.get(pk=response.json()["id"])
    assert image.original_name == expected
    assert image.file.name.startswith("drone/") and image.file.name.endswith(".jpg") and image.file.name.isascii()
    assert ".." not in image.file.name and image.thumbnail.name.startswith("drone/thumbs/")
