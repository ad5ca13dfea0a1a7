"""Click -> box on a real Celery worker with the committed demo model, on a synthetic mission whose ground truth the
generator knows; redelivery after SIGKILL; a broker that is down at click time; the sweep; batch re-prediction."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from accounts.models import Team
from core.models import JobStatus
from localization.models import Prediction, PredictionBatch, Target, TargetStatus
from missions.models import DroneImage
from registry.services import model_version_register_file
from smgeo.checkpoint import save_checkpoint
from smgeo.config import load_config
from smgeo.model import build_model
from smgeo.windows import sliding_squares
from tests.conftest import RedisServer, WorkerProcess, use_broker, wait_until
from tests.platform.builders import make_target
from tests.platform.factories import client_for
from tests.workers.synthetic_mission import box_iou, build_synthetic_mission, click, mission_files, target_of
from workers.localize import LocalizeError, localize, localize_many
from workers.search import look_ahead_m, plan_search, square_inside

pytestmark = pytest.mark.django_db(transaction=True)

GOOD_PAIRS = (0, 1)  # the demo model finds these targets (IoU 0.69 and 0.84, docs/results/demo_model.json)


def finished(target_id: int) -> Target | None:
    target = Target.objects.get(id=target_id)
    return target if target.status in (TargetStatus.PREDICTED, TargetStatus.FAILED) else None


# ------------------------------------------------------------------------------------------- the search plan
def test_a_drawn_window_wins_then_gps_then_sliding_windows() -> None:
    drawn = plan_search(width=4000, height=3000, side_px=1024, drawn=[100, 100, 300, 500], gps_px=(2000, 1500))
    assert drawn.mode == "drawn" and drawn.window == [0.0, 100.0, 400.0, 500.0]  # squared around its centre
    gps = plan_search(width=4000, height=3000, side_px=1024, drawn=None, gps_px=(2000, 1500))
    assert gps.mode == "gps" and gps.window == [1488.0, 988.0, 2512.0, 2012.0]
    outside = plan_search(width=4000, height=3000, side_px=1024, drawn=None, gps_px=(-50, 1500))
    assert outside.mode == "sliding" and outside.window == [0.0, 0.0, 4000.0, 3000.0] and outside.side == 1024


def test_the_gps_window_looks_ahead_along_the_heading_and_stays_inside() -> None:
    assert look_ahead_m(100.0, -90.0) == 0.0  # straight down
    assert look_ahead_m(100.0, -45.0) == pytest.approx(100.0)
    assert look_ahead_m(None, -45.0) == 0.0
    east = plan_search(width=4000, height=3000, side_px=1000, drawn=None, gps_px=(2000, 1500), heading_deg=90,
                       ahead_px=100)  # fmt: skip
    assert east.window == pytest.approx([1600.0, 1000.0, 2600.0, 2000.0])
    far = plan_search(width=4000, height=3000, side_px=1000, drawn=None, gps_px=(2000, 1500), heading_deg=0,
                      ahead_px=5000)  # fmt: skip
    assert far.window == pytest.approx([1500.0, 750.0, 2500.0, 1750.0])  # capped at a quarter of the window
    assert square_inside(50, 2990, 1000, 4000, 3000) == [0.0, 2000.0, 1000.0, 3000.0]


def test_sliding_windows_cover_the_basemap_and_one_window_serves_a_basemap_about_its_size() -> None:
    squares = sliding_squares(2500, 1200, 1000)
    assert {s[0] for s in squares} == {0.0, 750.0, 1500.0} and {s[1] for s in squares} == {0.0, 200.0}
    assert max(s[2] for s in squares) == 2500 and max(s[3] for s in squares) == 1200
    nearly = plan_search(width=1024, height=1024, side_px=1000, drawn=None, gps_px=None)
    assert nearly.side == 1024 and sliding_squares(1024, 1024, nearly.side) == [[0.0, 0.0, 1024.0, 1024.0]]


# ------------------------------------------------------------------------------------------- in process
@pytest.fixture(scope="module")
def files(tmp_path_factory):  # noqa: ANN001, ANN201
    """The generator's basemap and drone photos, written once for the module."""
    folder = tmp_path_factory.mktemp("mission-files")
    mission_files(folder)
    return folder


@pytest.fixture
def mission(files):  # noqa: ANN001, ANN201
    """The synthetic mission uploaded into the platform (a fresh team per test) with the demo model active."""
    return build_synthetic_mission(files)


def test_each_search_mode_finds_the_object_and_maps_it_to_lon_lat(mission) -> None:  # noqa: ANN001
    truth = mission.truth[1]
    modes = {}
    for fields in ({}, {"search_window": [150, 150, 1000, 1000]}):
        target = target_of(click(mission, 1, **fields))
        result = localize(target, mission.version)
        modes[result.plan.mode] = result
        assert box_iou(result.box, truth["box_px"]) > 0.5, result.plan
    DroneImage.objects.filter(id=mission.drone_images[1].id).update(gps_lat=None, gps_lon=None)
    result = localize(target_of(click(mission, 1)), mission.version)
    modes[result.plan.mode] = result
    assert box_iou(result.box, truth["box_px"]) > 0.5
    assert set(modes) == {"gps", "drawn", "sliding"}
    gps = modes["gps"]
    ring = gps.box_geojson["coordinates"][0]
    west, south, east, north = truth["box_lonlat"]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert abs(min(lons) - west) < 0.3 * (east - west) and abs(max(lats) - north) < 0.3 * (north - south)
    assert len(gps.candidates) == 5 and gps.candidates[0]["box"] == gps.box
    assert [c["score"] for c in gps.candidates] == sorted((c["score"] for c in gps.candidates), reverse=True)
    with Image.open(io.BytesIO(gps.heatmap_png)) as heatmap:
        assert heatmap.mode == "RGBA" and heatmap.width > 8
    assert gps.heatmap_bounds == pytest.approx(mission.basemap.bounds, abs=1e-9)  # the window is the whole basemap


def test_targets_localized_together_get_the_answers_they_get_alone_and_fail_alone(mission) -> None:  # noqa: ANN001
    """A batch re-prediction's targets share forward passes (their windows batched across targets): each gets the
    box it gets on its own, and one that cannot be localized fails without the others."""
    targets = [target_of(click(mission, index)) for index in range(len(mission.truth))]
    targets.append(target_of(click(mission, 2, search_window=[150, 150, 1000, 1000])))  # a drawn window
    bad = target_of(click(mission, 3))
    Target.objects.filter(id=bad.id).update(click_x=5000)  # outside its photo (the API refuses it; old data may not)
    bad.refresh_from_db()
    together = localize_many([*targets[:2], bad, *targets[2:]], mission.version)
    assert isinstance(together[2], LocalizeError) and "outside" in str(together[2])
    del together[2]
    for target, result in zip(targets, together, strict=True):
        alone = localize(target, mission.version)
        assert result.box == pytest.approx(alone.box, abs=0.5) and result.score == pytest.approx(alone.score, abs=1e-3)
        assert result.plan == alone.plan and result.heatmap_window == alone.heatmap_window


# ------------------------------------------------------------------------------------------- a real worker
@pytest.fixture
def worker(celery_worker):  # noqa: ANN001, ANN201
    return celery_worker


def test_a_click_ends_as_a_prediction_on_the_true_object_with_heatmap_and_candidates(mission, worker) -> None:  # noqa: ANN001
    for index in GOOD_PAIRS:
        started = time.monotonic()
        body = click(mission, index, label="roof")
        assert body["status"] == "queued"
        target = wait_until(lambda b=body: finished(b["id"]), timeout_s=120, what=f"target {body['id']} finishing")
        elapsed = time.monotonic() - started
        assert target.status == TargetStatus.PREDICTED, target.error
        prediction = target.prediction
        assert box_iou(prediction.box, mission.truth[index]["box_px"]) > 0.5
        assert prediction.model_version_id == mission.version.id and prediction.search_mode == "gps"
        assert len(prediction.candidates) == 5 and 0 < prediction.latency_ms < elapsed * 1000
        api = client_for(mission.setup.reviewer)
        heatmap = api.get(f"/api/v1/predictions/{prediction.id}/heatmap/")
        assert heatmap.status_code == 200 and b"".join(heatmap.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
        detail = api.get(f"/api/v1/targets/{target.id}/").json()
        assert detail["status"] == "predicted" and detail["prediction"]["box"] == pytest.approx(prediction.box)


def test_a_newly_activated_version_answers_the_next_click_without_a_restart(mission, worker, tmp_path) -> None:  # noqa: ANN001
    config = load_config("tiny")
    path = save_checkpoint(tmp_path / "other.pt", config, build_model(config.model).state_dict())
    other, _ = model_version_register_file(path=path, name="untrained", team=mission.setup.team)
    admin = client_for(mission.setup.admin)
    assert admin.post(f"/api/v1/model-versions/{other.id}/activate/").status_code == 200
    body = click(mission, 0)
    target = wait_until(lambda: finished(body["id"]), timeout_s=120, what="the click with the new version")
    assert target.status == TargetStatus.PREDICTED and target.prediction.model_version_id == other.id
    # A click may name its version; the worker keeps both loaded.
    body = click(mission, 0, model_version=mission.version.id)
    target = wait_until(lambda: finished(body["id"]), timeout_s=120, what="the click naming a version")
    assert target.prediction.model_version_id == mission.version.id
    assert admin.post(f"/api/v1/model-versions/{mission.version.id}/activate/").status_code == 200
    assert worker.process.poll() is None


def test_a_failure_names_its_reason_and_a_retry_succeeds(mission, worker) -> None:  # noqa: ANN001
    team = mission.setup.team
    Team.objects.filter(id=team.id).update(active_model=None)
    body = click(mission, 1)
    target = wait_until(lambda: finished(body["id"]), timeout_s=60, what="the failure")
    assert target.status == TargetStatus.FAILED and "no active model version" in target.error
    Team.objects.filter(id=team.id).update(active_model=mission.version)
    retried = client_for(mission.setup.operator).post(f"/api/v1/targets/{target.id}/retry/")
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    target = wait_until(lambda: finished(body["id"]), timeout_s=120, what="the retried target")
    assert target.status == TargetStatus.PREDICTED


def test_a_photo_missing_from_storage_fails_its_click_in_words_and_its_files_are_404_not_500(mission, worker) -> None:  # noqa: ANN001
    photo = mission.drone_images[1]
    photo.file.storage.delete(photo.file.name)
    photo.thumbnail.storage.delete(photo.thumbnail.name)
    body = click(mission, 1)
    target = wait_until(lambda: finished(body["id"]), timeout_s=60, what="the failure")
    assert target.status == TargetStatus.FAILED and "missing from storage" in target.error
    assert "/" not in target.error and "media" not in target.error.lower()  # no server path
    reviewer = client_for(mission.setup.reviewer)
    for what in ("file", "thumbnail"):
        response = reviewer.get(f"/api/v1/drone-images/{photo.id}/{what}/")
        assert response.status_code == 404 and "missing from storage" in response.json()["detail"], response


def test_a_batch_re_predicts_with_another_version_beside_the_current_predictions(mission, worker) -> None:  # noqa: ANN001
    targets = [click(mission, i) for i in GOOD_PAIRS]
    for body in targets:
        wait_until(lambda b=body: finished(b["id"]), timeout_s=120, what="the clicks")
    before = {t.id: (t.status, t.prediction_id) for t in Target.objects.filter(id__in=[b["id"] for b in targets])}
    reviewer = client_for(mission.setup.reviewer)
    body = {"mission": mission.setup.mission.id, "model_version": mission.version.id,
            "target_ids": [b["id"] for b in targets]}  # fmt: skip
    created = reviewer.post("/api/v1/prediction-batches/", body, format="json")
    assert created.status_code == 201, created.content
    batch_id = created.json()["id"]
    batch = wait_until(lambda: PredictionBatch.objects.filter(id=batch_id, status=JobStatus.SUCCEEDED).first(),
                       timeout_s=120, what="the batch")  # fmt: skip
    assert batch.progress == 1.0 and batch.message == "2 predicted, 0 failed"
    listed = reviewer.get(f"/api/v1/prediction-batches/{batch_id}/").json()
    predictions = reviewer.get(listed["predictions_url"]).json()["results"]
    assert sorted(p["target"] for p in predictions) == sorted(before)
    assert all(p["model_version"] == mission.version.id and p["batch"] == batch_id for p in predictions)
    after = {t.id: (t.status, t.prediction_id) for t in Target.objects.filter(id__in=before)}
    assert after == before  # the targets keep their status and current prediction
    refused = client_for(mission.setup.operator).post("/api/v1/prediction-batches/", body, format="json")
    assert refused.status_code == 403


def test_a_running_batch_stops_on_cancel(mission, worker) -> None:  # noqa: ANN001
    drone, basemap = mission.drone_images[0], mission.basemap
    for _ in range(40):  # clicks as if predicted earlier: the batch re-predicts all 40, about a second each
        make_target(mission.setup.mission, drone, basemap, click=tuple(mission.truth[0]["click"]))
    reviewer = client_for(mission.setup.reviewer)
    body = {"mission": mission.setup.mission.id, "model_version": mission.version.id}
    batch_id = reviewer.post("/api/v1/prediction-batches/", body, format="json").json()["id"]
    wait_until(lambda: PredictionBatch.objects.filter(id=batch_id, status=JobStatus.RUNNING).exists(), timeout_s=60,
               what="the batch starting")  # fmt: skip
    assert reviewer.post(f"/api/v1/prediction-batches/{batch_id}/cancel/").status_code == 200
    batch = wait_until(lambda: PredictionBatch.objects.filter(id=batch_id, status=JobStatus.CANCELLED).first(),
                       timeout_s=30, what="the cancel")  # fmt: skip
    assert Prediction.objects.filter(batch=batch).count() < Target.objects.filter(mission=mission.setup.mission).count()


# ------------------------------------------------------------------------------------------- faults
def test_a_click_while_the_broker_is_down_is_kept_and_predicted_once_it_is_back(mission, tmp_path) -> None:  # noqa: ANN001
    redis = RedisServer()
    redis.start()
    env = {"CELERY_BROKER_URL": redis.url, "CELERY_RESULT_BACKEND": redis.url, "SWEEP_QUEUED_AFTER_S": "3",
           "SWEEP_EVERY_S": "2"}  # fmt: skip
    # A worker on the private broker, with the beat that sends the sweep (as `make run` and compose run it).
    beat = ("--beat", "--schedule", str(tmp_path / "beat-schedule"))
    private = WorkerProcess(queues="gpu,cpu", extra_env=env, extra_args=beat)
    try:
        private.wait_ready(by_ping=False)  # (this process pings through the shared broker)
        with use_broker(redis.url):
            redis.stop()
            started = time.monotonic()
            body = click(mission, 0)
            assert time.monotonic() - started < 10  # the request does not hang on the broker
            assert body["status"] == "queued" and Target.objects.get(id=body["id"]).status == "queued"
            redis.start()  # nothing else: the next sweep sends the click again
            target = wait_until(lambda: finished(body["id"]), timeout_s=180, what="the click after the broker's return")
        assert target.status == TargetStatus.PREDICTED, target.error
        assert box_iou(target.prediction.box, mission.truth[0]["box_px"]) > 0.5
    finally:
        private.stop()
        redis.stop()
