"""Exports: a mission as GeoJSON (geometry, properties, CRS, provenance, constant queries) and CVOGL export jobs."""

import json

import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from core.models import JobStatus
from exports.models import ExportJob
from localization.models import Prediction, PredictionBatch, Review, Target, TargetStatus
from missions.georef import Georef
from missions.models import Mission
from tests.conftest import drain_queue
from tests.platform.builders import (
    labelled_target,
    make_basemap,
    make_drone_image,
    make_model_version,
    make_prediction,
    make_review,
    make_target,
)
from tests.platform.factories import client_for, make_mission, team_setup

pytestmark = pytest.mark.django_db

EXPORTS = "/api/v1/exports/"


@pytest.fixture
def mission():  # noqa: ANN201
    """A mission with a corrected, an approved, a rejected, a predicted and a queued (no prediction) target."""
    setup = team_setup()
    old, new = make_model_version(setup.team, "v1"), make_model_version(setup.team, "v2")
    image, basemap = make_drone_image(setup.mission), make_basemap(setup.mission)
    m, r = setup.mission, setup.reviewer
    corrected, _, _ = labelled_target(
        m,
        image,
        basemap,
        new,
        r,
        decision="correct",
        box=[100, 100, 140, 130],
        final_box=[104, 98, 150, 133],
        click=(20, 30),
        label="truck",
    )
    approved, _, _ = labelled_target(m, image, basemap, new, r, decision="approve", box=[400, 400, 420, 430])
    rejected, _, _ = labelled_target(m, image, basemap, new, r, decision="reject", box=[10, 10, 20, 20])
    predicted = make_target(m, image, basemap)
    make_prediction(predicted, old, [600, 600, 610, 610], score=0.2)
    make_prediction(predicted, new, [700, 700, 720, 725], score=0.9)  # the latest prediction counts
    make_target(m, image, basemap, status=TargetStatus.QUEUED)
    Prediction.objects.create(  # a comparison re-prediction (batch) never becomes the target's box
        target=predicted,
        model_version=old,
        box=[1, 1, 2, 2],
        box_geojson={},
        score=0.99,
        latency_ms=1,
        batch=PredictionBatch.objects.create(mission=m, model_version=old),
    )
    setup.targets = {"corrected": corrected, "approved": approved, "rejected": rejected, "predicted": predicted}
    setup.basemap, setup.image = basemap, image
    return setup


def geojson(client: APIClient, mission_id: int):  # noqa: ANN201
    return client.get(f"/api/v1/missions/{mission_id}/export.geojson")


def test_the_geojson_has_one_feature_per_predicted_target_with_its_label_box(mission) -> None:
    response = geojson(client_for(mission.operator), mission.mission.id)
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    body = json.loads(response.content)
    assert body["type"] == "FeatureCollection" and body["crs"]["properties"]["name"] == "EPSG:4326"
    features = {f["properties"]["status"]: f for f in body["features"]}
    assert set(features) == {"corrected", "approved", "rejected", "predicted"}  # the queued target has no box
    georef = Georef.of(mission.basemap)
    corrected = features["corrected"]
    assert corrected["id"] == mission.targets["corrected"].id
    assert corrected["geometry"] == georef.box_geojson([104, 98, 150, 133])
    props = corrected["properties"]
    assert props["box"] == [104, 98, 150, 133] and props["box_source"] == "review" and props["label"] == "truck"
    assert props["click"] == [20, 30] and props["drone_image"] == mission.image.original_name
    assert props["basemap"] == mission.basemap.name and props["model_version"] == "v2" and props["score"] == 0.8
    assert props["review_decision"] == "correct" and props["reviewer"] == mission.reviewer.username
    assert props["reviewed_at"].startswith("20")
    predicted = features["predicted"]["properties"]
    assert predicted["box"] == [700, 700, 720, 725] and predicted["model_version"] == "v2" and predicted["score"] == 0.9
    assert predicted["review_decision"] is None and predicted["box_source"] == "prediction"
    assert features["rejected"]["properties"]["box_source"] == "prediction"
    assert features["approved"]["properties"]["box"] == [400, 400, 420, 430]
    ring = features["approved"]["geometry"]["coordinates"][0]
    assert 14.9 < ring[0][0] < 15.1 and 45.0 < ring[0][1] < 45.2  # lon, lat
    provenance = body["provenance"]
    assert provenance["mission"] == {"id": mission.mission.id, "name": mission.mission.name}
    assert provenance["team"]["id"] == mission.team.id and provenance["exporter"] == mission.operator.username
    assert provenance["exported_at"] and provenance["feature_count"] == 4


def test_a_review_box_stored_without_its_polygon_is_georeferenced_on_export(mission) -> None:
    target = mission.targets["corrected"]
    Review.objects.filter(target=target).update(final_box_geojson=None)
    body = json.loads(geojson(client_for(mission.admin), mission.mission.id).content)
    feature = next(f for f in body["features"] if f["id"] == target.id)
    assert feature["geometry"] == Georef.of(mission.basemap).box_geojson([104, 98, 150, 133])


def test_undoing_a_review_exports_the_prediction_again(mission) -> None:
    target = mission.targets["corrected"]
    make_review(target, mission.reviewer, "reopen")
    body = json.loads(geojson(client_for(mission.admin), mission.mission.id).content)
    props = next(f for f in body["features"] if f["id"] == target.id)["properties"]
    assert props["box"] == [100, 100, 140, 130] and props["review_decision"] == "reopen"


def _bulk_targets(mission, count: int) -> None:  # noqa: ANN001
    """`count` more predicted targets, every other one approved (bulk inserts: fast)."""
    version = make_model_version(mission.team, f"bulk-{count}")
    status = [TargetStatus.APPROVED if i % 2 else TargetStatus.PREDICTED for i in range(count)]
    targets = Target.objects.bulk_create(
        Target(
            mission=mission.mission, drone_image=mission.image, basemap=mission.basemap, click_x=1, click_y=2, status=s
        )
        for s in status
    )
    polygon = Georef.of(mission.basemap).box_geojson([1, 1, 9, 9])
    predictions = Prediction.objects.bulk_create(
        Prediction(target=t, model_version=version, box=[1, 1, 9, 9], box_geojson=polygon, score=0.5, latency_ms=1)
        for t in targets
    )
    reviews = Review.objects.bulk_create(
        Review(
            target=p.target,
            prediction=p,
            reviewer=mission.reviewer,
            decision="approve",
            final_box=[1, 1, 9, 9],
            final_box_geojson=polygon,
            status_before="predicted",
            status_after="approved",
        )
        for p in predictions
        if p.target.status == TargetStatus.APPROVED
    )
    by_target = {r.target_id: r for r in reviews}
    for target, prediction in zip(targets, predictions, strict=True):
        target.prediction, target.last_review = prediction, by_target.get(target.id)
    Target.objects.bulk_update(targets, ["prediction", "last_review"], batch_size=2000)


def test_the_export_takes_a_constant_number_of_queries(mission, django_assert_max_num_queries) -> None:
    client = client_for(mission.operator)
    with django_assert_max_num_queries(4):
        small = json.loads(geojson(client, mission.mission.id).content)
    _bulk_targets(mission, 2_000)  # 10,000 take the same 4 queries (about 3 s on a 2-core machine)
    with django_assert_max_num_queries(4):
        large = json.loads(geojson(client, mission.mission.id).content)
    assert len(small["features"]) == 4 and len(large["features"]) == 2_004
    approved = [f for f in large["features"] if f["properties"]["review_decision"] == "approve"]
    assert len(approved) == 1_001 and all(f["properties"]["box_source"] == "review" for f in approved)


def test_the_geojson_file_is_named_after_the_mission(mission) -> None:  # noqa: ANN001
    Mission.objects.filter(id=mission.mission.id).update(name="Zürich North / Block 7")
    response = client_for(mission.reviewer).get(f"/api/v1/missions/{mission.mission.id}/export.geojson")
    assert response.status_code == 200
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''z%C3%BCrich-north-block-7.geojson"


def test_who_may_export_geojson(mission) -> None:
    url_id = mission.mission.id
    for user in (mission.operator, mission.reviewer, mission.admin):
        assert geojson(client_for(user), url_id).status_code == 200
    assert geojson(client_for(mission.outsider), url_id).status_code == 404
    assert geojson(client_for(mission.operator), 999_999).status_code == 404
    assert geojson(APIClient(), url_id).status_code == 401


# ------------------------------------------------------------------------------------------ CVOGL export jobs
@pytest.mark.django_db(transaction=True)
def test_an_operator_queues_a_cvogl_export_and_it_is_enqueued(mission, broker_queues) -> None:
    response = client_for(mission.operator).post(EXPORTS, {"mission": mission.mission.id})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["mission"] == mission.mission.id and body["download_url"] is None
    assert drain_queue("cpu") == [("workers.export_cvogl", [body["id"]])]
    assert ExportJob.objects.get(id=body["id"]).task_id


def test_exports_need_a_mission_of_mine_with_reviewed_targets(mission) -> None:
    client = client_for(mission.operator)
    foreign = client_for(mission.outsider).post(EXPORTS, {"mission": mission.mission.id})
    assert foreign.status_code == 400 and "mission" in foreign.json()["errors"]
    unknown = client.post(EXPORTS, {"mission": 999_999})
    assert unknown.status_code == 400 and "mission" in unknown.json()["detail"]
    empty = client.post(EXPORTS, {"mission": make_mission(mission.team).id})
    assert empty.status_code == 400 and "no approved or corrected targets" in empty.json()["detail"]
    assert not ExportJob.objects.exists()
    assert APIClient().post(EXPORTS, {"mission": mission.mission.id}).status_code == 401


def test_one_active_export_per_mission_and_cancel(mission) -> None:
    client = client_for(mission.operator)
    first = client.post(EXPORTS, {"mission": mission.mission.id}).json()
    again = client.post(EXPORTS, {"mission": mission.mission.id})
    assert again.status_code == 409 and f"export {first['id']}" in again.json()["detail"]
    assert client.get(f"{EXPORTS}{first['id']}/download/").status_code == 409
    cancelled = client.post(f"{EXPORTS}{first['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"{EXPORTS}{first['id']}/cancel/").status_code == 409
    assert client.post(EXPORTS, {"mission": mission.mission.id}).status_code == 201


def test_export_jobs_are_listed_per_mission_and_hidden_from_outsiders(mission) -> None:
    job = ExportJob.objects.create(mission=mission.mission, created_by=mission.operator)
    other = ExportJob.objects.create(mission=make_mission(mission.team, "other"))
    listed = client_for(mission.reviewer).get(EXPORTS, {"mission": mission.mission.id}).json()
    assert [j["id"] for j in listed["results"]] == [job.id]
    assert client_for(mission.reviewer).get(EXPORTS).json()["count"] == 2 and other.id
    outsider = client_for(mission.outsider)
    assert outsider.get(EXPORTS).json()["count"] == 0
    # another team's mission filters as an unknown one does: an empty page, never a hint that it exists
    foreign = outsider.get(EXPORTS, {"mission": mission.mission.id})
    assert foreign.status_code == 200 and foreign.json() == outsider.get(EXPORTS, {"mission": 999_999}).json()
    assert foreign.json()["count"] == 0
    for path in (f"{job.id}/", f"{job.id}/download/"):
        assert outsider.get(f"{EXPORTS}{path}").status_code == 404
    assert outsider.post(f"{EXPORTS}{job.id}/cancel/").status_code == 404
    assert APIClient().get(EXPORTS).status_code == 401


def test_a_finished_export_is_downloaded_as_a_zip(mission) -> None:
    job = ExportJob.objects.create(mission=mission.mission, status=JobStatus.SUCCEEDED, item_count=2)
    job.file.save("x.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    detail = client_for(mission.reviewer).get(f"{EXPORTS}{job.id}/").json()
    assert detail["download_url"] == f"{EXPORTS}{job.id}/download/" and detail["item_count"] == 2
    response = client_for(mission.reviewer).get(detail["download_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert b"".join(response.streaming_content).startswith(b"PK")
    assert f"mission-{mission.mission.id}-cvogl.zip" in response["Content-Disposition"]
