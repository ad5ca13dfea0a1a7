"""The worker's services (claim, prediction_save, fail, requeue) and the read-only /api/v1/predictions/ routes."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import Conflict, InvalidInput, NotFound
from localization import services
from localization.models import Prediction, PredictionBatch, Target
from tests.conftest import drain_queue
from tests.platform.factories import client_for, make_mission, team_setup
from tests.platform.localization_fixtures import (
    make_model_version,
    make_predicted_target,
    make_target,
    png_bytes,
    prediction_kwargs,
)

URL = "/api/v1/predictions/"


def heatmap_files() -> set[str]:
    folder = Path(settings.MEDIA_ROOT) / "heatmaps"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.mark.django_db
def test_a_claim_takes_a_queued_target_once() -> None:
    setup = team_setup()
    target = make_target(setup.mission, by=setup.operator)
    claimed = services.target_claim(target_id=target.id)
    assert claimed.status == "running" and claimed.attempts == 1 and claimed.started_at is not None
    assert claimed.drone_image.width == 64 and claimed.basemap.crs == "EPSG:32633"  # joined in for the worker
    assert services.target_claim(target_id=target.id) is None  # a duplicate message finds it running
    assert services.target_claim(target_id=999_999) is None  # the row is gone


@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_a_target_another_worker_holds() -> None:
    setup = team_setup()
    target = make_target(setup.mission, by=setup.operator)
    seen: list = []

    def other_worker() -> None:
        try:
            seen.append(services.target_claim(target_id=target.id))
        finally:
            connection.close()

    with transaction.atomic():
        Target.objects.select_for_update().get(pk=target.id)  # held, as by a worker mid-claim
        thread = threading.Thread(target=other_worker)
        thread.start()
        thread.join(timeout=5)
        assert not thread.is_alive() and seen == [None]  # answered at once, without waiting
    assert services.target_claim(target_id=target.id).status == "running"


@pytest.mark.django_db
def test_a_saved_prediction_makes_the_target_predicted_and_shows_in_the_api() -> None:
    setup = team_setup()
    version = make_model_version(name="smgeo-tiny-synthetic")
    target = make_target(setup.mission, by=setup.operator)
    claimed = services.target_claim(target_id=target.id)
    prediction = services.prediction_save(**prediction_kwargs(target, version), attempt=claimed.attempts)
    target.refresh_from_db()
    assert target.status == "predicted" and target.prediction_id == prediction.id
    body = client_for(setup.reviewer).get(f"{URL}{prediction.id}/").json()
    assert body["target"] == target.id and body["model_version_name"] == "smgeo-tiny-synthetic"
    assert body["box"] == [100, 120, 140, 150] and body["score"] == pytest.approx(0.91)
    assert body["box_geojson"]["type"] == "Polygon" and len(body["candidates"]) == 2
    assert body["heatmap_window"] == [0, 0, 512, 512] and body["search_mode"] == "drawn" and body["latency_ms"] == 42.5
    heatmap = client_for(setup.operator).get(body["heatmap_url"])
    assert heatmap.status_code == 200 and heatmap["Content-Type"] == "image/png"
    assert b"".join(heatmap.streaming_content) == png_bytes()
    assert "media" not in body["heatmap_url"]  # never a public media URL


@pytest.mark.django_db
def test_a_late_or_broken_result_stores_nothing() -> None:
    setup = team_setup()
    version, before = make_model_version(), heatmap_files()
    target = make_target(setup.mission, by=setup.operator)
    with pytest.raises(Conflict, match="running"):  # never claimed: still queued
        services.prediction_save(**prediction_kwargs(target, version))
    claimed = services.target_claim(target_id=target.id)
    bad = {"heatmap_png": b"GIF89a...", "box": [10, 10, 5, 20], "score": float("nan"), "search_mode": "psychic"}
    for field, value in bad.items():
        with pytest.raises(InvalidInput) as refused:
            services.prediction_save(**prediction_kwargs(target, version, **{field: value}))
        assert refused.value.field == field
    with pytest.raises(Conflict, match="claimed again"):
        services.prediction_save(**prediction_kwargs(target, version), attempt=claimed.attempts - 1)
    with pytest.raises(NotFound):
        services.prediction_save(**prediction_kwargs(target, version, target_id=999_999))
    assert Prediction.objects.count() == 0 and heatmap_files() == before  # no row, no orphan heatmap
    assert Target.objects.get(pk=target.id).status == "running"


@pytest.mark.django_db
def test_a_batch_re_prediction_leaves_the_reviewed_target_alone() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    client_for(setup.reviewer).post("/api/v1/reviews/", {"target": target.id, "decision": "approve"})
    newer = make_model_version(setup.team)
    batch = PredictionBatch.objects.create(mission=setup.mission, model_version=newer, created_by=setup.admin)
    again = services.prediction_save(**prediction_kwargs(target, newer, score=0.5), batch=batch)
    current = Target.objects.get(pk=target.id)
    assert current.status == "approved" and current.prediction_id == target.prediction_id != again.id
    listed = client_for(setup.operator).get(f"{URL}?target={target.id}").json()["results"]
    assert [(p["id"], p["batch"]) for p in listed] == [(again.id, batch.id), (target.prediction_id, None)]
    other_batch = PredictionBatch.objects.create(mission=make_mission(setup.team), model_version=newer)
    with pytest.raises(InvalidInput):
        services.prediction_save(**prediction_kwargs(target, newer), batch=other_batch)


@pytest.mark.django_db
def test_a_failure_is_kept_with_its_reason_but_never_overwrites_a_result() -> None:
    setup = team_setup()
    running = make_target(setup.mission, by=setup.operator)
    services.target_claim(target_id=running.id)
    failed = services.target_fail(target_id=running.id, error="CUDA out of memory; try a smaller search window")
    assert failed.status == "failed" and "smaller search window" in failed.error
    predicted = make_predicted_target(setup.mission, by=setup.operator)
    assert services.target_fail(target_id=predicted.id, error="late") is None
    assert Target.objects.get(pk=predicted.id).status == "predicted"
    assert services.target_fail(target_id=999_999, error="gone") is None


@pytest.mark.django_db(transaction=True)
def test_a_stale_target_is_requeued_and_given_up_after_three_attempts(broker_queues) -> None:
    setup = team_setup()
    target = make_target(setup.mission, by=setup.operator)
    services.target_claim(target_id=target.id)
    fresh = timezone.now() - timedelta(minutes=10)
    assert services.target_requeue(target_id=target.id, updated_before=fresh) is None  # a worker is still on it
    requeued = services.target_requeue(target_id=target.id, reason="worker lost", updated_before=timezone.now())
    assert requeued.status == "queued" and drain_queue("gpu") == [("workers.localize_target", [target.id])]
    for _ in range(2):
        services.target_claim(target_id=target.id)
        services.target_requeue(target_id=target.id, reason="worker lost")
    gave_up = Target.objects.get(pk=target.id)
    assert gave_up.status == "failed" and gave_up.error == "gave up after 3 attempts: worker lost"
    assert len(drain_queue("gpu")) == 1  # requeued once more, then no more messages


@pytest.mark.django_db
def test_the_prediction_list_filters_by_target_model_version_and_mission() -> None:
    setup = team_setup()
    first, second = make_model_version(), make_model_version(setup.team)
    a = make_predicted_target(setup.mission, by=setup.operator, version=first)
    b = make_predicted_target(make_mission(setup.team), by=setup.operator, version=second)
    client = client_for(setup.operator)

    def ids(query: str) -> list[int]:
        return [p["id"] for p in client.get(f"{URL}?{query}").json()["results"]]

    assert ids(f"target={a.id}") == [a.prediction_id] and ids(f"model_version={second.id}") == [b.prediction_id]
    assert ids(f"mission={setup.mission.id}") == [a.prediction_id] and ids("") == [b.prediction_id, a.prediction_id]


@pytest.mark.django_db
def test_permissions_on_the_prediction_routes() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    detail, heatmap = f"{URL}{target.prediction_id}/", f"{URL}{target.prediction_id}/heatmap/"
    anonymous = APIClient()
    assert [anonymous.get(u).status_code for u in (URL, detail, heatmap)] == [401, 401, 401]
    for member in (setup.operator, setup.reviewer, setup.admin):
        assert [client_for(member).get(u).status_code for u in (URL, detail, heatmap)] == [200, 200, 200]
    outsider = client_for(setup.outsider)
    assert outsider.get(detail).status_code == 404 and outsider.get(heatmap).status_code == 404
    assert outsider.get(URL).json()["count"] == 0
    assert client_for(setup.admin).post(URL, {"target": target.id}).status_code == 405  # read-only
    no_heatmap = make_predicted_target(setup.mission, by=setup.operator)
    Prediction.objects.filter(pk=no_heatmap.prediction_id).update(heatmap="")
    assert client_for(setup.operator).get(f"{URL}{no_heatmap.prediction_id}/heatmap/").status_code == 404
