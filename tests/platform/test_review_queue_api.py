"""GET /api/v1/targets/next-review/: stepping back and forth through the reviewer queue, its orders, its filters
(photo, score range, decided targets), how many it holds, and a 400 naming each bad value."""

from __future__ import annotations

import pytest

from localization import services
from localization.models import Target
from localization.review_services import review_create
from missions.models import DroneImage
from tests.platform.factories import client_for, make_mission, team_setup
from tests.platform.localization_fixtures import make_basemap, make_drone_image, make_model_version, prediction_kwargs

NEXT = "/api/v1/targets/next-review/"


def predicted(setup, *, score: float = 0.91, photo: DroneImage | None = None) -> Target:  # noqa: ANN001
    """A target of the operator's, clicked in `photo` (else a new one) and predicted with this score."""
    mission = setup.mission
    target = Target.objects.create(
        mission=mission, drone_image=photo or make_drone_image(mission, by=setup.operator),
        basemap=make_basemap(mission), click_x=10, click_y=20, created_by=setup.operator,
    )  # fmt: skip
    services.target_claim(target_id=target.id)
    services.prediction_save(**prediction_kwargs(target, make_model_version(), score=score))
    target.refresh_from_db()
    return target


def queue_ids(client, setup, **params: object) -> list[int]:  # noqa: ANN001
    """The ids met by stepping `after` through the queue from its first target until it wraps round."""
    params = {"mission": setup.mission.id, **params}
    first = client.get(NEXT, params).json()
    ids = [first["id"]]
    while True:
        following = client.get(NEXT, {**params, "after": ids[-1]}).json()["id"]
        if following == ids[0]:
            return ids
        ids.append(following)


@pytest.mark.django_db
def test_before_steps_back_through_the_queue_and_wraps_round_to_the_last() -> None:
    setup = team_setup()
    first, second, third = (predicted(setup) for _ in range(3))
    client = client_for(setup.reviewer)
    back = {"mission": setup.mission.id}
    assert client.get(NEXT, {**back, "before": third.id}).json()["id"] == second.id
    assert client.get(NEXT, {**back, "before": second.id}).json()["id"] == first.id
    assert client.get(NEXT, {**back, "before": first.id}).json()["id"] == third.id  # wrapping round
    review_create(by=setup.reviewer, target_id=second.id, decision="approve")
    assert client.get(NEXT, {**back, "before": third.id}).json()["id"] == first.id  # decided: no longer in it
    assert client.get(NEXT, {**back, "after": second.id}).json()["id"] == third.id  # yet it keeps its place


@pytest.mark.django_db
def test_the_lowest_score_and_the_photo_orders() -> None:
    setup = team_setup()
    photo_a, photo_b = (make_drone_image(setup.mission, by=setup.operator) for _ in range(2))
    high_b = predicted(setup, score=0.95, photo=photo_b)
    low_a = predicted(setup, score=0.40, photo=photo_a)
    middle_b = predicted(setup, score=0.70, photo=photo_b)
    client = client_for(setup.reviewer)
    assert queue_ids(client, setup, order="lowest_score") == [low_a.id, middle_b.id, high_b.id]
    assert queue_ids(client, setup, order="photo") == [low_a.id, high_b.id, middle_b.id]
    assert queue_ids(client, setup) == [high_b.id, low_a.id, middle_b.id]  # oldest first, as before


@pytest.mark.django_db
def test_the_queue_filters_by_photo_score_and_decided_status_and_counts_what_it_holds() -> None:
    setup = team_setup()
    photo = make_drone_image(setup.mission, by=setup.operator)
    sure, unsure = predicted(setup, score=0.95, photo=photo), predicted(setup, score=0.30, photo=photo)
    elsewhere = predicted(setup, score=0.50)
    decided = predicted(setup, score=0.60)
    review_create(by=setup.reviewer, target_id=decided.id, decision="approve")
    client = client_for(setup.reviewer)
    mission = {"mission": setup.mission.id}
    body = client.get(NEXT, mission).json()
    assert body["id"] == sure.id and body["queue"] == {"count": 3, "total": 4}  # "3 of 4 left"
    assert queue_ids(client, setup, drone_image=photo.id) == [sure.id, unsure.id]
    assert client.get(NEXT, {**mission, "drone_image": photo.id}).json()["queue"] == {"count": 2, "total": 2}
    assert queue_ids(client, setup, score_max=0.5) == [unsure.id, elsewhere.id]
    assert queue_ids(client, setup, score_min=0.4, score_max=0.99) == [sure.id, elsewhere.id]
    approved = client.get(NEXT, {**mission, "status": "approved"}).json()
    assert approved["id"] == decided.id and approved["queue"] == {"count": 1, "total": 4}
    assert client.get(NEXT, {**mission, "status": "rejected"}).status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"order": "random"}, "order", "lowest_score"),
        ({"status": "queued"}, "status", "not 'queued'"),
        ({"drone_image": "abc"}, "drone_image", "drone image id"),
        ({"score_min": "1.5"}, "score_min", "between 0 and 1"),
        ({"score_max": "nan"}, "score_max", "between 0 and 1"),
        ({"score_min": "0.8", "score_max": "0.2"}, "score_min", "above score_max"),
        ({"before": "x"}, "before", "target id"),
        ({"after": "1", "before": "2"}, "before", "not both"),
    ],
)
def test_a_bad_queue_value_is_a_400_naming_it(params: dict, field: str, words: str) -> None:
    setup = team_setup()
    predicted(setup)
    response = client_for(setup.reviewer).get(NEXT, {"mission": setup.mission.id, **params})
    assert response.status_code == 400 and response.json()["field"] == field and words in response.json()["detail"]


@pytest.mark.django_db
def test_a_photo_of_another_mission_is_a_400() -> None:
    setup = team_setup()
    foreign = make_drone_image(make_mission(setup.team), by=setup.operator)
    response = client_for(setup.reviewer).get(NEXT, {"mission": setup.mission.id, "drone_image": foreign.id})
    assert response.status_code == 400 and response.json()["detail"] == f"no drone image {foreign.id} in this mission"
