"""POST/GET /api/v1/reviews/ and the reviewer queue: decisions, undo, who may review, racing reviewers."""

import threading

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounts.models import Role
from localization.models import Review, Target
from localization.review_services import review_create
from missions.georef import Georef
from tests.platform.factories import add_member, client_for, make_mission, team_setup
from tests.platform.localization_fixtures import make_predicted_target, make_target

URL = "/api/v1/reviews/"


def review(user, target: Target, decision: str, **fields):  # noqa: ANN001, ANN201
    return client_for(user).post(URL, {"target": target.id, "decision": decision, **fields})


@pytest.mark.django_db
def test_approving_keeps_the_predicted_box_as_the_label() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    response = review(setup.reviewer, target, "approve", comment="clear match", expected_status="predicted")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["decision"], body["status_before"], body["status_after"]) == ("approve", "predicted", "approved")
    assert body["final_box"] == target.prediction.box and body["final_box_geojson"] == target.prediction.box_geojson
    assert body["reviewer"]["username"] == setup.reviewer.username and body["prediction"] == target.prediction_id
    target.refresh_from_db()
    assert target.status == "approved" and target.last_review_id == body["id"]


@pytest.mark.django_db
def test_a_correction_stores_the_new_box_in_pixels_and_lonlat() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    response = review(setup.reviewer, target, "correct", final_box=[110, 125.5, 150, 160])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["final_box"] == [110, 125.5, 150, 160] and body["status_after"] == "corrected"
    expected = Georef.of(target.basemap).box_geojson([110, 125.5, 150, 160])
    for corner, expected_corner in zip(
        body["final_box_geojson"]["coordinates"][0], expected["coordinates"][0], strict=True
    ):
        assert corner == pytest.approx(expected_corner)
    lon, lat = body["final_box_geojson"]["coordinates"][0][0]
    assert 14.9 < lon < 15.1 and 45.0 < lat < 45.2  # UTM 33N pixels became lon/lat


@pytest.mark.django_db
def test_a_correction_can_pick_one_of_the_candidates() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    out_of_range = review(setup.reviewer, target, "correct", candidate=2)
    assert out_of_range.status_code == 400 and out_of_range.json()["field"] == "candidate"
    picked = review(setup.reviewer, target, "correct", candidate=1)
    assert picked.status_code == 201 and picked.json()["candidate"] == 1
    assert picked.json()["final_box"] == target.prediction.candidates[1]["box"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("decision", "fields", "field", "problem"),
    [("correct", {}, "final_box", "needs a final_box"),
     ("correct", {"final_box": [10, 10, 20, 20], "candidate": 0}, "final_box", "not both"),
     ("correct", {"final_box": [50, 50, 40, 60]}, "final_box", "positive size"),
     ("correct", {"final_box": [900, 700, 1000.5, 790]}, "final_box", "not inside the basemap"),
     ("correct", {"final_box": [0, 0, "NaN", 10]}, "final_box", "finite"),
     ("approve", {"final_box": [10, 10, 20, 20]}, "final_box", "only for a correction"),
     ("reject", {"candidate": 0}, "candidate", "only for a correction"),
     ("delete", {}, "decision", "")],
)  # fmt: skip
def test_bad_review_input_is_refused_and_nothing_changes(decision: str, fields: dict, field: str, problem: str) -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    response = review(setup.reviewer, target, decision, **fields)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body.get("field") == field or field in body.get("errors", {})
    assert problem in body["detail"]
    target.refresh_from_db()
    assert target.status == "predicted" and Review.objects.count() == 0


@pytest.mark.django_db
def test_reject_then_reopen_undoes_the_decision_and_keeps_the_history() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    assert review(setup.reviewer, target, "reject", comment="wrong roof").json()["status_after"] == "rejected"
    assert review(setup.admin, target, "reopen", comment="it was right").json()["status_after"] == "predicted"
    assert review(setup.reviewer, target, "reopen").status_code == 409  # nothing to undo any more
    assert review(setup.reviewer, target, "approve").status_code == 201
    history = client_for(setup.operator).get(f"{URL}?target={target.id}").json()["results"]
    assert [(r["decision"], r["status_before"], r["status_after"]) for r in history] == [
        ("approve", "predicted", "approved"), ("reopen", "rejected", "predicted"), ("reject", "predicted", "rejected"),
    ]  # fmt: skip
    detail = client_for(setup.operator).get(f"/api/v1/targets/{target.id}/").json()
    assert [r["id"] for r in detail["reviews"]] == [r["id"] for r in history]


@pytest.mark.django_db
def test_reviews_are_append_only() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    review_id = review(setup.reviewer, target, "approve").json()["id"]
    client = client_for(setup.admin)
    for response in (client.put(f"{URL}{review_id}/", {}), client.patch(f"{URL}{review_id}/", {"comment": "x"}),
                     client.delete(f"{URL}{review_id}/")):  # fmt: skip
        assert response.status_code == 405
    assert Review.objects.get(pk=review_id).decision == "approve"


@pytest.mark.django_db
def test_only_reviewers_and_admins_review_and_never_their_own_targets_unless_admin() -> None:
    setup = team_setup()
    by_operator = make_predicted_target(setup.mission, by=setup.operator)
    denied = review(setup.operator, by_operator, "approve")
    assert denied.status_code == 403 and "reviewers and admins" in denied.json()["detail"]
    by_reviewer = make_predicted_target(setup.mission, by=setup.reviewer)
    own = review(setup.reviewer, by_reviewer, "approve")
    assert own.status_code == 403 and "you created this target" in own.json()["detail"]
    by_admin = make_predicted_target(setup.mission, by=setup.admin)
    assert review(setup.admin, by_admin, "approve").status_code == 201  # admins may (a one-person team)
    assert review(setup.admin, by_reviewer, "approve").status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["queued", "running", "failed"])
def test_a_target_without_a_prediction_to_review_answers_409_with_its_status(status: str) -> None:
    setup = team_setup()
    target = make_target(setup.mission, by=setup.operator, status=status)
    response = review(setup.reviewer, target, "approve")
    assert response.status_code == 409 and response.json()["current_status"] == status
    assert status in response.json()["detail"] and response.json()["your_request"]["decision"] == "approve"


@pytest.mark.django_db
def test_a_stale_expected_status_answers_409_naming_who_decided() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    review(setup.admin, target, "reject")
    review(setup.admin, target, "reopen")
    stale = review(setup.reviewer, target, "reopen", expected_status="rejected")  # they saw it rejected
    body = stale.json()
    assert stale.status_code == 409 and body["current_status"] == "predicted"
    assert f"{setup.admin.username} already reopened this target" in body["detail"]
    assert body["latest_review"]["decision"] == "reopen" and body["latest_review"]["reviewer"] == setup.admin.username


@pytest.mark.django_db
def test_another_teams_or_an_unknown_target_is_a_400_naming_the_field() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    foreign = review(setup.outsider, target, "approve")
    unknown = review(setup.reviewer, Target(id=999_999), "approve")
    assert (foreign.status_code, foreign.json()["field"]) == (400, "target") == (unknown.status_code, "target")
    assert foreign.json()["detail"] == f"no target {target.id} in your teams"


@pytest.mark.django_db
def test_the_review_queue_gives_the_oldest_predicted_target_i_did_not_create() -> None:
    setup = team_setup()
    queue = f"/api/v1/targets/next-review/?mission={setup.mission.id}"
    mine = make_predicted_target(setup.mission, by=setup.reviewer)
    oldest, newer = (make_predicted_target(setup.mission, by=setup.operator) for _ in range(2))
    make_target(setup.mission, by=setup.operator)  # queued: not reviewable yet
    make_predicted_target(make_mission(setup.team), by=setup.operator)  # another mission
    client = client_for(setup.reviewer)
    first = client.get(queue)
    assert first.status_code == 200 and first.json()["id"] == oldest.id and first.json()["prediction"]
    assert client.get(f"{queue}&after={oldest.id}").json()["id"] == newer.id  # N: skip to the next one
    assert client.get(f"{queue}&after={newer.id}").json()["id"] == oldest.id  # ... wrapping round
    assert client.get(f"{queue}&after=x").json()["field"] == "after"
    review(setup.reviewer, oldest, "approve")
    assert client.get(queue).json()["id"] == newer.id
    review(setup.reviewer, newer, "reject")
    assert client.get(queue).status_code == 204
    assert client_for(setup.admin).get(queue).json()["id"] == mine.id
    assert client_for(setup.operator).get(queue).status_code == 403
    assert client_for(setup.outsider).get(queue).status_code == 404
    assert client.get("/api/v1/targets/next-review/").status_code == 400
    assert APIClient().get(queue).status_code == 401


@pytest.mark.django_db
def test_the_least_confident_order_gives_the_smallest_margin_first_and_skips_in_that_order() -> None:
    setup = team_setup()
    queue = f"/api/v1/targets/next-review/?mission={setup.mission.id}&order=least_confident"
    sure, unsure, middling = (
        make_predicted_target(setup.mission, by=setup.operator, runner_up=score) for score in (0.2, 0.88, 0.6)
    )
    client = client_for(setup.reviewer)
    first = client.get(queue).json()
    assert first["id"] == unsure.id and first["prediction"]["margin"] == pytest.approx(0.03)
    assert client.get(f"{queue}&after={unsure.id}").json()["id"] == middling.id
    assert client.get(f"{queue}&after={middling.id}").json()["id"] == sure.id
    assert client.get(f"{queue}&after={sure.id}").json()["id"] == unsure.id  # wrapping round
    review(setup.reviewer, unsure, "approve")
    assert client.get(f"{queue}&after={unsure.id}").json()["id"] == middling.id  # a decided target keeps its place
    oldest = f"/api/v1/targets/next-review/?mission={setup.mission.id}&order=oldest"
    assert client.get(oldest).json()["id"] == sure.id
    wrong = client.get(f"/api/v1/targets/next-review/?mission={setup.mission.id}&order=random")
    assert wrong.status_code == 400 and wrong.json()["field"] == "order" and "least_confident" in wrong.json()["detail"]


@pytest.mark.django_db
def test_permissions_on_the_review_routes() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    review_id = review(setup.reviewer, target, "approve").json()["id"]
    anonymous = APIClient()
    assert anonymous.get(URL).status_code == anonymous.get(f"{URL}{review_id}/").status_code == 401
    assert anonymous.post(URL, {"target": target.id, "decision": "reopen"}).status_code == 401
    for member in (setup.operator, setup.reviewer, setup.admin):
        assert client_for(member).get(f"{URL}{review_id}/").status_code == 200
        assert client_for(member).get(f"{URL}?mission={setup.mission.id}").json()["count"] == 1
    outsider = client_for(setup.outsider)
    assert outsider.get(f"{URL}{review_id}/").status_code == 404 and outsider.get(URL).json()["count"] == 0


def _post_together(requests: list[tuple[object, dict]]) -> list:
    """POST each (user, body) from its own thread and database connection, released at the same instant."""
    barrier, responses = threading.Barrier(len(requests)), [None] * len(requests)

    def post(index: int, user: object, body: dict) -> None:
        try:
            client = client_for(user)
            barrier.wait(timeout=10)
            responses[index] = client.post(URL, body)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return responses


@pytest.mark.both_backends
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_racing_on_one_target_one_wins_and_the_other_gets_409_naming_the_winner() -> None:
    setup = team_setup()
    second = add_member(setup.team, Role.REVIEWER)
    for decisions in (("approve", "reject"), ("correct", "approve"), ("reject", "correct")):
        target = make_predicted_target(setup.mission, by=setup.operator)
        bodies = [
            {"target": target.id, "decision": d, "comment": f"{d} by {i}", "expected_status": "predicted"}
            | ({"final_box": [105, 120, 145, 155]} if d == "correct" else {})
            for i, d in enumerate(decisions)
        ]
        responses = _post_together([(setup.reviewer, bodies[0]), (second, bodies[1])])
        assert sorted(r.status_code for r in responses) == [201, 409], [r.json() for r in responses]
        won = next(i for i, r in enumerate(responses) if r.status_code == 201)
        winner, loser = responses[won].json(), responses[1 - won].json()
        stored = Review.objects.get(target=target)  # exactly one review, the winner's, intact
        assert (stored.id, stored.decision, stored.comment) == (
            winner["id"],
            bodies[won]["decision"],
            bodies[won]["comment"],
        )
        winner_name = (setup.reviewer, second)[won].username
        assert loser["latest_review"]["id"] == winner["id"] and loser["latest_review"]["reviewer"] == winner_name
        assert loser["current_status"] == winner["status_after"] and winner_name in loser["detail"]
        assert loser["your_request"] == bodies[1 - won]  # echoed so the UI can re-apply it
        assert Target.objects.get(pk=target.id).status == winner["status_after"]


@pytest.mark.both_backends
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_waits_for_the_one_holding_the_target_and_then_sees_its_decision() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    responses: list = []

    def late_reviewer() -> None:
        try:
            responses.append(review(setup.reviewer, target, "reject"))
        finally:
            connection.close()

    thread = threading.Thread(target=late_reviewer)
    with transaction.atomic():
        review_create(by=setup.admin, target_id=target.id, decision="approve")  # locks the target row
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive()  # blocked on the row lock, not answered with a stale status
    thread.join(timeout=30)
    assert responses[0].status_code == 409 and responses[0].json()["current_status"] == "approved"
    assert list(Review.objects.filter(target=target).values_list("decision", flat=True)) == ["approve"]


@pytest.mark.django_db
def test_a_correction_drawn_on_the_map_in_lonlat_becomes_the_pixel_box_that_holds_it() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    georef = Georef.of(target.basemap)
    west, south, east, north = georef.bounds_lonlat([110, 125, 150, 160])
    response = review(setup.reviewer, target, "correct", final_box_lonlat=[west, south, east, north])
    assert response.status_code == 201, response.json()
    assert response.json()["final_box"] == pytest.approx([110, 125, 150, 160], abs=1.0)
    both = review(
        setup.reviewer, target, "correct", final_box=[1, 1, 2, 2], final_box_lonlat=[west, south, east, north]
    )
    assert both.status_code == 400 and "not both" in both.json()["detail"]
    for bad, problem in (([east, south, west, north], "west < east"), ([0, 0, 1, 1], "does not overlap")):
        refused = review(setup.reviewer, target, "correct", final_box_lonlat=bad)
        assert refused.status_code == 400 and problem in refused.json()["detail"], refused.json()
    assert Review.objects.filter(target=target).count() == 1
