"""POST/GET /api/v1/targets/: clicking a target, what is refused, listing, detail, retry, who may do what."""

import threading
import time

import pytest
from django.db import connection
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.routers import DefaultRouter
from rest_framework.test import APIClient

from localization import api as localization_api
from localization import services
from localization.models import Target
from missions.georef import Georef
from missions.models import Basemap
from tests.conftest import drain_queue
from tests.platform.factories import client_for, make_mission, team_setup
from tests.platform.localization_fixtures import (
    make_basemap,
    make_drone_image,
    make_model_version,
    make_predicted_target,
    make_target,
)

URL = "/api/v1/targets/"


def click_body(setup, **overrides) -> dict:  # noqa: ANN001
    """A valid click on a 64 x 48 drone image of the mission, on a 1000 x 800 basemap of the same mission."""
    body = {
        "drone_image": make_drone_image(setup.mission, by=setup.operator).id,
        "basemap": make_basemap(setup.mission).id,
        "click_x": 31.5,
        "click_y": 20,
        "label": "  white van  ",
    }
    return {**body, **overrides}


@pytest.mark.django_db(transaction=True)
def test_a_click_is_stored_queued_and_its_localization_enqueued_after_commit(broker_queues) -> None:
    setup = team_setup()
    response = client_for(setup.operator).post(URL, click_body(setup, search_window=[10, 20, 410, 320]))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["label"] == "white van" and body["mission"] == setup.mission.id
    assert body["search_window"] == [10, 20, 410, 320] and body["prediction"] is None and body["reviews"] == []
    assert body["created_by"] == {"id": setup.operator.id, "username": setup.operator.username}
    assert drain_queue("gpu") == [("workers.localize_target", [body["id"]])]
    assert Target.objects.get(pk=body["id"]).task_id  # the Celery task id is kept on the target


@pytest.mark.django_db(transaction=True)
def test_a_repeat_with_the_same_idempotency_key_returns_the_first_target(broker_queues) -> None:
    setup = team_setup()
    client, body = client_for(setup.operator), click_body(setup)
    first = client.post(URL, body, headers={"Idempotency-Key": "tap-7f3a"})
    again = client.post(URL, body, headers={"Idempotency-Key": "tap-7f3a"})
    in_body = client.post(URL, {**body, "idempotency_key": "tap-7f3a"})
    assert (first.status_code, again.status_code, in_body.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == in_body.json()["id"]
    assert Target.objects.count() == 1 and len(drain_queue("gpu")) == 1
    other_click = client.post(URL, {**body, "click_x": 3}, headers={"Idempotency-Key": "tap-7f3a"})
    assert other_click.status_code == 409 and other_click.json()["field"] == "idempotency_key"
    # the key is per user: a teammate using the same key gets a target of their own
    assert client_for(setup.admin).post(URL, body, headers={"Idempotency-Key": "tap-7f3a"}).status_code == 201


@pytest.mark.both_backends
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_repeats_of_one_idempotency_key_make_one_target(broker_queues) -> None:
    setup = team_setup()
    body, barrier, responses = click_body(setup), threading.Barrier(2), []

    def tap() -> None:
        try:
            client = client_for(setup.operator)
            barrier.wait(timeout=10)
            responses.append(client.post(URL, body, headers={"Idempotency-Key": "double-tap"}))
        finally:
            connection.close()

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.status_code for r in responses) == [200, 201]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert Target.objects.count() == 1 and len(drain_queue("gpu")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("click", "field"),
    [((64, 10), "click_x"), ((-0.5, 10), "click_x"), ((10, 48), "click_y"), ((10, -3), "click_y")],
)
def test_a_click_outside_the_drone_image_is_refused_naming_the_coordinate(click, field) -> None:  # noqa: ANN001
    setup = team_setup()
    response = client_for(setup.operator).post(URL, click_body(setup, click_x=click[0], click_y=click[1]))
    assert response.status_code == 400 and response.json()["field"] == field
    assert "outside the drone image" in response.json()["detail"] and Target.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-inf", "1e999", "ten"])
def test_nan_and_infinity_are_refused(value: str) -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    click = client.post(URL, click_body(setup, click_y=value))
    assert click.status_code == 400 and "click_y" in click.json()["errors"]
    window = client.post(URL, click_body(setup, search_window=[0, 0, value, 10]))
    assert window.status_code == 400 and "search_window" in window.json()["errors"]
    assert Target.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("window", "problem"),
    [([10, 10, 5, 20], "positive size"), ([10, 10, 20, 10], "positive size"), ([900, 700, 1001, 790], "not inside"),
     ([-1, 0, 10, 10], "not inside"), ([0, 0, 10], "at least 4 elements")],
)  # fmt: skip
def test_a_search_window_needs_a_positive_size_inside_the_basemap(window: list, problem: str) -> None:
    setup = team_setup()
    response = client_for(setup.operator).post(URL, click_body(setup, search_window=window))
    assert response.status_code == 400, response.json()
    assert "search_window" in response.json()["detail"] and problem in str(response.json())


@pytest.mark.django_db
def test_references_to_unknown_or_foreign_objects_answer_400_naming_the_field_without_revealing_them() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    foreign_mission = make_mission(setup.other_team)
    foreign_image, foreign_basemap = make_drone_image(foreign_mission), make_basemap(foreign_mission)
    cases = {
        "drone_image": [foreign_image.id, 999_999],
        "basemap": [foreign_basemap.id, 999_999, make_basemap(make_mission(setup.team)).id],
        "model_version": [make_model_version(setup.other_team).id, 999_999],
    }
    for field, ids in cases.items():
        answers = [client.post(URL, click_body(setup, **{field: some_id})) for some_id in ids]
        assert [(a.status_code, a.json()["field"]) for a in answers] == [(400, field)] * len(ids)
    foreign, unknown = (
        client.post(URL, click_body(setup, drone_image=i)).json()["detail"] for i in (foreign_image.id, 0)
    )
    assert foreign.replace(str(foreign_image.id), "N") == unknown.replace("0", "N")  # same words either way
    assert Target.objects.count() == 0


@pytest.mark.django_db
def test_the_basemap_must_be_ingested_and_the_model_version_visible_to_the_team() -> None:
    setup = team_setup()
    client = client_for(setup.operator)
    pending = client.post(URL, click_body(setup, basemap=make_basemap(setup.mission, status="running").id))
    assert pending.status_code == 400 and pending.json()["field"] == "basemap" and "ingest" in pending.json()["detail"]
    for version in (make_model_version(None), make_model_version(setup.team)):  # shared, and the team's own
        response = client.post(URL, click_body(setup, model_version=version.id))
        assert response.status_code == 201 and response.json()["model_version"] == version.id


@pytest.mark.django_db
def test_no_new_targets_in_an_archived_mission() -> None:
    setup = team_setup()
    body = click_body(setup)
    setup.mission.status = "archived"
    setup.mission.save(update_fields=["status"])
    response = client_for(setup.operator).post(URL, body)
    assert response.status_code == 409 and "archived" in response.json()["detail"]


@pytest.mark.django_db
def test_the_list_filters_by_mission_status_basemap_and_drone_image_newest_first() -> None:
    setup = team_setup()
    other_mission = make_mission(setup.team)
    older, newer = make_target(setup.mission, by=setup.operator), make_target(setup.mission, by=setup.operator)
    predicted = make_predicted_target(setup.mission, by=setup.operator)
    elsewhere = make_target(other_mission, by=setup.operator, status="failed")
    client = client_for(setup.reviewer)

    def ids(query: str) -> list[int]:
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return [t["id"] for t in response.json()["results"]]

    assert ids(f"mission={setup.mission.id}") == [predicted.id, newer.id, older.id]
    assert ids("status=predicted") == [predicted.id] and ids("status=failed,predicted") == [elsewhere.id, predicted.id]
    assert ids(f"basemap={older.basemap_id}") == [older.id] and ids(f"drone_image={newer.drone_image_id}") == [newer.id]
    page = client.get(f"{URL}?page_size=2").json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    assert page["results"][1]["prediction"]["score"] == pytest.approx(0.91)  # the list embeds predictions too
    assert client.get(f"{URL}?status=done").status_code == 400


@pytest.mark.django_db
def test_the_detail_embeds_the_latest_prediction_and_the_review_history() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    client_for(setup.reviewer).post("/api/v1/reviews/", {"target": target.id, "decision": "approve"})
    body = client_for(setup.operator).get(f"{URL}{target.id}/").json()
    assert body["status"] == "approved" and body["prediction"]["id"] == target.prediction_id
    prediction = body["prediction"]
    assert prediction["box"] == [100, 120, 140, 150] and prediction["box_geojson"]["type"] == "Polygon"
    assert [c["score"] for c in prediction["candidates"]] == pytest.approx([0.91, 0.34])
    assert prediction["heatmap_url"] == f"/api/v1/predictions/{target.prediction_id}/heatmap/"
    assert [r["decision"] for r in body["reviews"]] == ["approve"] and body["last_review"]["final_box"] == [
        100, 120, 140, 150,
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_retry_puts_a_failed_target_back_on_the_queue(broker_queues) -> None:
    setup = team_setup()
    target = make_target(setup.mission, by=setup.admin)
    services.target_fail(target_id=target.id, error="the basemap tile could not be read")
    failed = client_for(setup.operator).get(f"{URL}{target.id}/").json()
    assert failed["status"] == "failed" and failed["error"] == "the basemap tile could not be read"
    retried = client_for(setup.operator).post(f"{URL}{target.id}/retry/")
    assert retried.status_code == 200 and retried.json()["status"] == "queued" and retried.json()["error"] == ""
    assert drain_queue("gpu") == [("workers.localize_target", [target.id])]
    again = client_for(setup.operator).post(f"{URL}{target.id}/retry/")
    assert again.status_code == 409 and again.json()["current_status"] == "queued"


@pytest.mark.django_db
def test_permissions_on_the_target_routes() -> None:
    setup = team_setup()
    target = make_target(setup.mission, by=setup.operator, status="failed")
    detail, retry = f"{URL}{target.id}/", f"{URL}{target.id}/retry/"
    anonymous = APIClient()
    for response in (anonymous.get(URL), anonymous.get(detail), anonymous.post(URL, {}), anonymous.post(retry)):
        assert response.status_code == 401
    for member in (setup.operator, setup.reviewer, setup.admin):
        assert client_for(member).get(detail).status_code == 200
        assert client_for(member).get(URL).json()["count"] == 1
    outsider = client_for(setup.outsider)
    assert outsider.get(detail).status_code == 404 and outsider.post(retry).status_code == 404
    assert outsider.get(URL).json()["count"] == 0 and outsider.get(f"{URL}999999/").status_code == 404
    refused = outsider.post(URL, click_body(setup))  # the team's drone image, seen from another team
    assert refused.status_code == 400 and refused.json()["field"] == "drone_image"
    assert client_for(setup.operator).post(retry).status_code == 200  # operators may retry


def test_the_schema_describes_every_localization_route_without_errors() -> None:
    router = DefaultRouter()
    localization_api.register(router)
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=[path("api/v1/", include(router.urls))]).get_schema(request=None, public=True)
    assert not GENERATOR_STATS._error_cache, dict(GENERATOR_STATS._error_cache)
    for route in ("/api/v1/targets/", "/api/v1/targets/{id}/retry/", "/api/v1/targets/next-review/",
                  "/api/v1/predictions/{id}/heatmap/", "/api/v1/reviews/"):  # fmt: skip
        assert route in schema["paths"], route
    assert "Idempotency-Key" in str(schema["paths"]["/api/v1/targets/"]["post"]["parameters"])
    assert "409" in schema["paths"]["/api/v1/reviews/"]["post"]["responses"]


@pytest.mark.django_db
def test_a_search_window_too_small_to_hold_an_object_is_refused_naming_the_minimum() -> None:
    setup = team_setup()
    basemap = Basemap.objects.get(id=click_body(setup)["basemap"])
    west, south, *_ = Georef.of(basemap).bounds_lonlat([200, 100, 600, 500])
    tiny = [west, south, west + 0.0001, south + 0.0001]  # about 7 x 11 m
    refused = client_for(setup.operator).post(URL, click_body(setup, search_window_lonlat=tiny))
    assert refused.status_code == 400 and refused.json()["field"] == "search_window_lonlat"
    assert "at least 10 m and 32 pixels on each side" in refused.json()["detail"]
    few_pixels = client_for(setup.operator).post(URL, click_body(setup, search_window=[10, 10, 30, 400]))
    assert few_pixels.status_code == 400 and "20 x 390 basemap pixels" in few_pixels.json()["detail"]
    assert client_for(setup.operator).post(URL, click_body(setup, search_window=[10, 10, 60, 60])).status_code == 201


@pytest.mark.django_db
def test_a_search_window_drawn_on_the_map_in_lonlat_is_cut_to_the_basemap_in_pixels() -> None:
    setup = team_setup()
    basemap = Basemap.objects.get(id=click_body(setup)["basemap"])
    west, south, east, north = Georef.of(basemap).bounds_lonlat([200, 100, 600, 500])
    inside = client_for(setup.operator).post(URL, click_body(setup, search_window_lonlat=[west, south, east, north]))
    assert inside.status_code == 201, inside.json()
    assert inside.json()["search_window"] == pytest.approx([200, 100, 600, 500], abs=1.0)
    spill = Georef.of(basemap).bounds_lonlat([0, 0, 1000, 800])
    past_edges = [spill[0] - 0.01, spill[1] - 0.01, spill[2] + 0.01, spill[3] + 0.01]
    cut = client_for(setup.operator).post(URL, click_body(setup, search_window_lonlat=past_edges))
    assert cut.status_code == 201 and cut.json()["search_window"] == [0, 0, 1000, 800]


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_answers_as_soon_as_the_status_changes() -> None:
    setup = team_setup()
    target = make_target(setup.mission, by=setup.operator)
    client = client_for(setup.operator)
    url = f"{URL}{target.id}/"

    def predict_later() -> None:
        time.sleep(0.4)
        Target.objects.filter(id=target.id).update(status="running")
        connection.close()

    threading.Thread(target=predict_later).start()
    started = time.monotonic()
    changed = client.get(url, {"changed_from": "queued", "wait": 10})
    waited = time.monotonic() - started
    assert changed.status_code == 200 and changed.json()["status"] == "running"
    assert 0.35 < waited < 3, waited  # as soon as it changed, not after the whole wait
    started = time.monotonic()
    unchanged = client.get(url, {"changed_from": "running", "wait": 0.3})
    assert unchanged.json()["status"] == "running" and time.monotonic() - started >= 0.3
    assert client.get(url, {"changed_from": "queued", "wait": 10}).json()["status"] == "running"  # differs already
    for bad in ("soon", "-1", "31"):
        refused = client.get(url, {"changed_from": "queued", "wait": bad})
        assert refused.status_code == 400 and refused.json()["field"] == "wait"


@pytest.mark.django_db(transaction=True)
def test_a_waiting_long_poll_sleeps_on_postgresql_notifications_instead_of_polling() -> None:
    from asgiref.sync import async_to_sync
    from django.test.utils import CaptureQueriesContext

    from localization.long_poll import wait_for_change

    setup = team_setup()
    target = make_target(setup.mission, by=setup.operator)
    wait = async_to_sync(wait_for_change)
    with CaptureQueriesContext(connection) as queries:
        assert wait(target_id=target.id, user_id=setup.operator.id, known="queued", timeout_s=1.0) == "queued"
    reads = [q for q in queries.captured_queries if "localization_target" in q["sql"]]
    assert len(reads) <= 2, reads  # one read once listening, one when the listener is ready: nothing while it waits

    def run_quick_job() -> None:  # claimed, then predicted 0.1 s later
        time.sleep(0.3)
        Target.objects.filter(id=target.id).update(status="running")
        time.sleep(0.1)
        Target.objects.filter(id=target.id).update(status="predicted")
        connection.close()

    threading.Thread(target=run_quick_job).start()
    started = time.monotonic()
    # one answer, with the result: `running` is held for the next change rather than answered on its own
    assert wait(target_id=target.id, user_id=setup.operator.id, known="queued", timeout_s=10) == "predicted"
    assert time.monotonic() - started < 2
