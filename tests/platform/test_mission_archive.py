"""Archiving a mission: PATCH status "archived" (operators and up) hides it from the active list, refuses new
basemaps, drone images and clicks with a 409 that says so, and keeps reviewing and exporting possible."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.platform.builders import (
    jpeg_bytes,
    labelled_target,
    make_basemap,
    make_drone_image,
    make_model_version,
    make_prediction,
    make_target,
)
from tests.platform.factories import client_for, team_setup

pytestmark = pytest.mark.django_db

MISSIONS = "/api/v1/missions/"


def archive(user, mission, status: str = "archived"):  # noqa: ANN001, ANN201
    return client_for(user).patch(f"{MISSIONS}{mission.id}/", {"status": status}, format="json")


def listed(user, query: str) -> list[int]:  # noqa: ANN001
    return [m["id"] for m in client_for(user).get(f"{MISSIONS}{query}").json()["results"]]


def test_an_operator_archives_and_unarchives_and_the_active_list_hides_archived_missions() -> None:
    setup = team_setup()
    assert archive(setup.operator, setup.mission).json()["status"] == "archived"
    assert setup.mission.id not in listed(setup.reviewer, "?status=active")
    assert setup.mission.id in listed(setup.reviewer, "?status=archived")
    assert archive(setup.operator, setup.mission, "active").json()["status"] == "active"
    assert setup.mission.id in listed(setup.reviewer, "?status=active")


def test_an_unknown_status_and_another_teams_mission_are_refused() -> None:
    setup = team_setup()
    bad = archive(setup.operator, setup.mission, "deleted")
    assert bad.status_code == 400 and "status" in bad.content.decode()
    assert archive(setup.outsider, setup.mission).status_code == 404


def test_an_archived_mission_refuses_new_basemaps_and_drone_images_with_409() -> None:
    setup = team_setup()
    archive(setup.operator, setup.mission)
    client = client_for(setup.operator)
    photo = client.post(
        "/api/v1/drone-images/",
        {"mission": setup.mission.id, "file": SimpleUploadedFile("DJI_1.JPG", jpeg_bytes(), "image/jpeg")},
        format="multipart",
    )
    assert photo.status_code == 409 and "archived" in photo.json()["detail"]
    basemap = client.post(
        "/api/v1/basemaps/",
        {"mission": setup.mission.id, "bounds": "15.1,45.5,15.12,45.52",
         "file": SimpleUploadedFile("map.jpg", jpeg_bytes(), "image/jpeg")},
        format="multipart",
    )  # fmt: skip
    assert basemap.status_code == 409 and "unarchive it to upload basemaps" in basemap.json()["detail"]
    archive(setup.operator, setup.mission, "active")
    again = client.post(
        "/api/v1/drone-images/",
        {"mission": setup.mission.id, "file": SimpleUploadedFile("DJI_1.JPG", jpeg_bytes(), "image/jpeg")},
        format="multipart",
    )
    assert again.status_code == 201


def test_an_archived_mission_can_still_be_reviewed_and_exported() -> None:
    setup = team_setup()
    version = make_model_version(setup.team, "v1")
    image, basemap = make_drone_image(setup.mission), make_basemap(setup.mission)
    labelled_target(setup.mission, image, basemap, version, setup.reviewer, decision="approve", box=[10, 10, 40, 40])
    predicted = make_target(setup.mission, image, basemap)
    make_prediction(predicted, version, [100, 100, 140, 130])
    archive(setup.operator, setup.mission)
    review = client_for(setup.reviewer).post("/api/v1/reviews/", {"target": predicted.id, "decision": "approve"})
    assert review.status_code == 201, review.content
    export = client_for(setup.operator).post("/api/v1/exports/", {"mission": setup.mission.id})
    assert export.status_code == 201, export.content
    geojson = client_for(setup.operator).get(f"{MISSIONS}{setup.mission.id}/export.geojson")
    assert geojson.status_code == 200 and len(geojson.json()["features"]) == 2
