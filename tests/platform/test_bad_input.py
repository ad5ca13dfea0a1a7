"""Bad input that used to answer 500 answers 4xx with a `detail`: ids spelled with non-ASCII digits (`²` passes
`str.isdigit()`), ids beyond 64 bits, JSON nested thousands deep, an EXIF sub-second field that is not digits."""

from __future__ import annotations

import struct

import pytest

from missions.models import DroneImage
from tests.platform.builders import make_basemap, make_drone_image, make_model_version, make_prediction, make_target
from tests.platform.factories import client_for, make_mission, team_setup
from tests.platform.test_drone_images import ZURICH_GPS, drone_jpeg, post_image

pytestmark = pytest.mark.django_db
HUGE = ["²", "１２", "1e23", "99999999999999999999999", "9223372036854775808", "-1", "0"]


def assert_4xx(response, status: int = 400) -> dict:  # noqa: ANN001
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert body["detail"], body
    return body


@pytest.mark.parametrize("raw", HUGE)
def test_ids_in_query_strings_that_are_not_ids_are_400(raw: str) -> None:
    setup = team_setup()
    reviewer, operator = client_for(setup.reviewer), client_for(setup.operator)
    assert_4xx(operator.get("/api/v1/model-versions/", {"team": raw}))
    assert_4xx(operator.get("/api/v1/exports/", {"mission": raw}))
    assert_4xx(operator.get("/api/v1/targets/", {"mission": raw}))
    assert_4xx(reviewer.get("/api/v1/targets/next-review/", {"mission": raw}))
    assert_4xx(reviewer.get("/api/v1/targets/next-review/", {"mission": setup.mission.id, "after": raw}))


@pytest.mark.parametrize("raw", ["²", "99999999999999999999999"])
def test_ids_in_paths_that_are_not_ids_are_404(raw: str) -> None:
    setup = team_setup()
    for path in ("targets", "missions", "teams", "model-versions", "exports"):
        assert_4xx(client_for(setup.operator).get(f"/api/v1/{path}/{raw}/"), status=404)


@pytest.mark.parametrize("ids", [[1e30], [10**30], [2**63], ["²"]])
def test_a_batch_of_target_ids_beyond_64_bits_is_400(ids: list) -> None:
    setup = team_setup()
    body = {"mission": setup.mission.id, "model_version": 1, "target_ids": ids}
    answer = assert_4xx(client_for(setup.admin).post("/api/v1/prediction-batches/", body, format="json"))
    assert "target_ids" in answer["errors"] or "model_version" in answer["errors"], answer


def test_json_nested_thousands_deep_is_400() -> None:
    setup = team_setup()
    deep = "[" * 5000 + "]" * 5000
    body = f'{{"team": {setup.team.id}, "name": {deep}}}'
    answer = assert_4xx(client_for(setup.operator).post("/api/v1/missions/", body, content_type="application/json"))
    assert "nested too deeply" in answer["detail"]


def test_an_exif_sub_second_that_is_not_digits_is_ignored_not_a_500() -> None:
    setup = team_setup()
    photo = drone_jpeg(gps=ZURICH_GPS, exif={36867: "2024:05:01 10:20:30", 37521: "Q"})
    # SubSecTimeOriginal (0x9291) as ASCII "Q": patch its one byte to 0xB2, which Pillow reads back (latin-1) as "²"
    entry = struct.pack(">HHI", 0x9291, 2, 2) + b"Q"  # Pillow writes big-endian ("MM") EXIF
    assert photo.count(entry) == 1
    photo = photo.replace(entry, entry[:-1] + b"\xb2")
    response = post_image(client_for(setup.operator), setup.mission.id, photo)
    assert response.status_code == 201, response.content[:300]
    image = DroneImage.objects.get()
    assert image.captured_at is not None and image.captured_at.second == 30 and image.captured_at.microsecond == 0


FILTERS = [
    ("targets", "mission"), ("targets", "basemap"), ("targets", "drone_image"), ("predictions", "mission"),
    ("predictions", "target"), ("predictions", "model_version"), ("reviews", "mission"), ("reviews", "target"),
    ("basemaps", "mission"), ("drone-images", "mission"), ("missions", "team"), ("prediction-batches", "mission"),
    ("exports", "mission"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "param"), FILTERS)
def test_a_filter_by_another_teams_id_answers_as_an_unknown_id_does(path: str, param: str) -> None:
    setup = team_setup()
    mine = client_for(setup.admin)
    mission = make_mission(setup.other_team, "theirs")  # the other team's world: every kind of object a filter names
    image, basemap = make_drone_image(mission), make_basemap(mission)
    target = make_target(mission, image, basemap)
    version = make_model_version(setup.other_team)
    make_prediction(target, version, [0, 0, 10, 10])
    foreign = {"mission": mission, "team": setup.other_team, "basemap": basemap, "drone_image": image,
               "target": target, "model_version": version}[param].id  # fmt: skip
    answers = [mine.get(f"/api/v1/{path}/", {param: value}) for value in (foreign, 999_999)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json() and answers[0].json()["count"] == 0
    malformed = assert_4xx(mine.get(f"/api/v1/{path}/", {param: "1e23"}))
    assert param in str(malformed), malformed
