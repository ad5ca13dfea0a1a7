"""workers.ingest_basemap: routed to the cpu queue, enqueued on commit, and run by a real Celery worker process that
turns an upload into a ready basemap with tiles."""

from __future__ import annotations

import time

import pytest

from config.celery_app import app, enqueue
from core.models import JobStatus
from missions.models import Basemap
from tests.conftest import drain_queue
from tests.platform.factories import client_for, team_setup
from tests.platform.imagery_fixtures import MARKER_ZOOM, marked_utm_geotiff, upload_basemap

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_finished(basemap_id: int, timeout_s: float = 60.0) -> Basemap:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        basemap = Basemap.objects.get(pk=basemap_id)
        if basemap.is_finished:
            return basemap
        time.sleep(0.2)
    raise AssertionError(f"basemap {basemap_id} still {basemap.status} after {timeout_s}s")


def test_ingest_is_routed_to_the_cpu_queue() -> None:
    assert app.amqp.router.route({}, "workers.ingest_basemap")["queue"].name == "cpu"


def test_an_upload_enqueues_exactly_one_ingest_on_the_cpu_queue(broker_queues) -> None:  # noqa: ANN001
    setup = team_setup()
    response = upload_basemap(client_for(setup.operator), setup.mission.id, marked_utm_geotiff(256).data)
    assert response.status_code == 201
    assert drain_queue("cpu") == [("workers.ingest_basemap", [response.json()["id"]])]
    assert drain_queue("gpu", timeout_s=0.3) == []


def test_a_real_worker_turns_an_upload_into_a_ready_basemap(celery_worker, broker_queues) -> None:  # noqa: ANN001
    setup = team_setup()
    marked = marked_utm_geotiff(512)
    client = client_for(setup.operator)
    response = upload_basemap(client, setup.mission.id, marked.data)
    assert response.status_code == 201 and response.json()["status"] == "queued"

    basemap = _wait_finished(response.json()["id"])
    assert basemap.status == JobStatus.SUCCEEDED, basemap.error + celery_worker.log()
    assert basemap.crs == "EPSG:32633" and basemap.cog_sha256 and basemap.started_at <= basemap.finished_at
    assert "workers.ingest_basemap" in celery_worker.log()
    detail = client.get(f"/api/v1/basemaps/{basemap.id}/").json()
    assert detail["ready"] is True and detail["progress"] == 1.0
    tile = client.get(detail["tile_url_template"].format(z=MARKER_ZOOM, x=marked.tile.x, y=marked.tile.y))
    assert tile.status_code == 200 and tile["Content-Type"] == "image/png"


def test_the_worker_skips_a_basemap_that_is_gone(celery_worker) -> None:  # noqa: ANN001
    result = app.AsyncResult(enqueue("workers.ingest_basemap", 987_654_321))
    assert result.get(timeout=30) == "skipped"
