"""Media on S3-compatible object storage: the settings that choose it, and the whole platform on a local S3 server
(moto's standalone server) with a real Celery worker: uploads, the basemap ingest, tiles, a click that ends with a
heatmap, and a CVOGL export, every file in the bucket and none under MEDIA_ROOT."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import morecantile
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import override_settings
from PIL import Image

from config.settings.storage import media_storage
from core.models import JobStatus
from exports.models import ExportJob
from localization.models import TargetStatus
from missions.models import Basemap, DroneImage
from registry.models import ModelVersion
from tests.conftest import WorkerProcess, wait_until
from tests.platform.factories import client_for, team_setup
from tests.workers.synthetic_mission import SyntheticMission, click, mission_files, register_demo_model, target_of

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "smgeo-media-test"
KEYS = {"AWS_ACCESS_KEY_ID": "test-access-key", "AWS_SECRET_ACCESS_KEY": "test-secret-key"}
PNG = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------------- the settings
def test_the_environment_chooses_the_filesystem_or_a_private_s3_bucket() -> None:
    assert media_storage({}) == {"BACKEND": "core.media_storage.MediaFileSystemStorage"}
    s3 = media_storage(
        {"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "media", "AWS_S3_ENDPOINT_URL": "http://minio:9000", **KEYS}
    )
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    options = s3["OPTIONS"]
    assert options["bucket_name"] == "media" and options["endpoint_url"] == "http://minio:9000"
    assert options["addressing_style"] == "path" and options["region_name"] == "us-east-1"
    assert options["access_key"] == KEYS["AWS_ACCESS_KEY_ID"] and options["secret_key"] == KEYS["AWS_SECRET_ACCESS_KEY"]
    assert options["default_acl"] is None and options["querystring_auth"] is True  # private; any URL is signed
    assert options["file_overwrite"] is False  # like the filesystem: one row's file never replaces another's
    aws = media_storage({"MEDIA_STORAGE": "S3", "AWS_STORAGE_BUCKET_NAME": "media", "AWS_S3_REGION_NAME": "eu-west-1"})
    assert aws["OPTIONS"]["endpoint_url"] is None and aws["OPTIONS"]["region_name"] == "eu-west-1"
    assert "access_key" not in aws["OPTIONS"]  # no keys: boto3 finds the host's credentials (instance role, ...)
    for environment, variable in [
        ({"MEDIA_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME"),
        ({"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": " "}, "AWS_STORAGE_BUCKET_NAME"),
        ({"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "m", "AWS_ACCESS_KEY_ID": "k"}, "AWS_SECRET_ACCESS_KEY"),
        (
            {"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "m", "AWS_QUERYSTRING_AUTH": "maybe"},
            "AWS_QUERYSTRING_AUTH",
        ),
        ({"MEDIA_STORAGE": "minio"}, "MEDIA_STORAGE"),
    ]:
        with pytest.raises(ImproperlyConfigured, match=variable):
            media_storage(environment)


def test_settings_with_s3_but_no_bucket_refuse_to_load_naming_the_variable() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(MEDIA_STORAGE="s3", PYTHONPATH=str(ROOT / "platform"))
    loaded = subprocess.run(
        [sys.executable, "-c", "import config.settings.test"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert loaded.returncode != 0 and "ImproperlyConfigured" in loaded.stderr
    assert "AWS_STORAGE_BUCKET_NAME" in loaded.stderr


def test_every_file_field_uses_the_configured_default_storage(s3_media: dict[str, str]) -> None:
    from django.apps import apps
    from django.core.files.storage import default_storage
    from storages.backends.s3 import S3Storage

    fields = [f for m in apps.get_models() for f in m._meta.get_fields() if isinstance(f, models.FileField)]
    assert len(fields) >= 6  # basemap source + COG, drone image + thumbnail, heatmap, checkpoint, export
    assert all(field.storage is default_storage for field in fields), fields
    assert default_storage.bucket_name == BUCKET and isinstance(default_storage._wrapped, S3Storage)  # set up lazily


# ------------------------------------------------------------------------------------------- a local S3 server
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's standalone S3 server on a free port, with an empty bucket; its endpoint URL."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: _answers(endpoint), timeout_s=60, every_s=0.3, what=f"moto's S3 server on port {port}")
        bucket_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=20)


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint, timeout=2):
            return True
    except OSError:
        return False


def bucket_client(endpoint: str):  # noqa: ANN201
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
    )


def bucket_keys(endpoint: str) -> set[str]:
    pages = bucket_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {entry["Key"] for page in pages for entry in page.get("Contents", [])}


def bucket_object(endpoint: str, key: str) -> bytes:
    return bucket_client(endpoint).get_object(Bucket=BUCKET, Key=key)["Body"].read()


@pytest.fixture(scope="module")
def s3_media(s3_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """This process's media on the bucket (STORAGES from the same code as the settings, with the variables a
    deployment sets), an empty MEDIA_ROOT that must stay empty, and a fresh tile cache. Yields the variables."""
    from missions import tile_cache

    environment = {
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3_server,
        "AWS_S3_REGION_NAME": "us-east-1",
        **KEYS,
    }
    media_root, tiles = tmp_path_factory.mktemp("media-root"), tmp_path_factory.mktemp("tile-cache")
    storages = {
        "default": media_storage(environment),
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override = override_settings(STORAGES=storages, MEDIA_ROOT=str(media_root), TILE_CACHE_DIR=str(tiles))
    override.enable()  # resets default_storage: every FileField reads and writes through the bucket from here
    tile_cache.clear()  # no COG opened by an earlier test (same sha256) may answer the tiles here
    try:
        yield {**environment, "MEDIA_ROOT": str(media_root), "TILE_CACHE_DIR": str(tiles)}
    finally:
        override.disable()
        tile_cache.clear()


@pytest.fixture(scope="module")
def s3_worker(
    s3_media: dict[str, str], django_db_setup: None, django_db_blocker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A real Celery worker configured by the environment alone (MEDIA_STORAGE=s3 and the AWS_* variables), with
    its own empty temporary and model-cache folders: whatever it reads, it fetched from the bucket."""
    scratch = tmp_path_factory.mktemp("worker-tmp")
    environment = {k: v for k, v in s3_media.items() if k != "TILE_CACHE_DIR"}
    worker = WorkerProcess(
        extra_env={**environment, "TMPDIR": str(scratch), "MODEL_CACHE_DIR": str(scratch / "models")}
    )
    worker.scratch = scratch
    try:
        worker.wait_ready(timeout_s=240)
        yield worker
    finally:
        worker.stop()


# ------------------------------------------------------------------------------------------- end to end
def _upload_mission(folder: Path) -> SyntheticMission:
    """The synthetic mission uploaded through the API; the worker (not this process) ingests the basemap."""
    manifest, setup = mission_files(folder), team_setup()
    operator = client_for(setup.operator)
    entry = manifest["basemaps"][0]
    response = operator.post(
        "/api/v1/basemaps/",
        {
            "mission": setup.mission.id,
            "bounds": ",".join(str(v) for v in entry["bounds"]),
            "file": SimpleUploadedFile("basemap.png", (folder / entry["file"]).read_bytes(), "image/png"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    basemap = wait_until(
        lambda: Basemap.objects.filter(id=response.json()["id"], status__in=["succeeded", "failed"]).first(),
        timeout_s=300, every_s=0.5, what="the worker's ingest of the basemap",
    )  # fmt: skip
    assert basemap.status == JobStatus.SUCCEEDED, basemap.error
    images, truth = [], []
    for entry in (e for e in manifest["drone_images"] if e["basemap"] == 0):
        data = (folder / entry["file"]).read_bytes()
        body = {"mission": setup.mission.id, "file": SimpleUploadedFile(entry["file"], data, "image/jpeg")}
        response = operator.post("/api/v1/drone-images/", body, format="multipart")
        assert response.status_code == 201, response.content
        images.append(DroneImage.objects.get(id=response.json()["id"]))
        truth.append(entry)
    return SyntheticMission(setup, basemap, images, truth, register_demo_model(setup))


def _files_under(folder: str | Path) -> list[Path]:
    return [path for path in Path(folder).rglob("*") if path.is_file()]


def _finished(client, url: str) -> dict | None:  # noqa: ANN001
    detail = client.get(url).json()
    return detail if detail["status"] in ("succeeded", "failed", "cancelled") else None


def _served_from_the_bucket(client, url: str, endpoint: str, key: str) -> bytes:  # noqa: ANN001
    """GET a permission-checked file endpoint: streamed from storage (no redirect to a bucket URL), as stored."""
    response = client.get(url)
    assert response.status_code == 200 and "Location" not in response, (url, response.status_code)
    served = b"".join(response.streaming_content)
    assert served == bucket_object(endpoint, key)
    return served


def _predicted(mission: SyntheticMission, index: int, worker: WorkerProcess):  # noqa: ANN202
    body = click(mission, index, label="roof")
    target = wait_until(
        lambda: target_of(body) if target_of(body).status in (TargetStatus.PREDICTED, TargetStatus.FAILED) else None,
        timeout_s=300, every_s=0.5, what=f"the prediction of click {index}",
    )  # fmt: skip
    assert target.status == TargetStatus.PREDICTED, target.error + worker.log()[-3000:]
    return target


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_mission_on_s3_uploads_ingests_tiles_predicts_exports_and_fine_tunes(
    s3_server: str, s3_media: dict[str, str], s3_worker: WorkerProcess, tmp_path: Path
) -> None:
    started = time.monotonic()
    mission = _upload_mission(tmp_path / "mission")
    setup, basemap, image = mission.setup, mission.basemap, mission.drone_images[0]
    assert basemap.task_id  # the worker ingested it (an ingest in this process records no task id)
    stored = [basemap.source_file.name, basemap.cog_file.name, image.file.name, image.thumbnail.name]
    assert {*stored, mission.version.checkpoint.name} <= bucket_keys(s3_server)
    assert basemap.cog_file.name.startswith("basemaps/cog/") and image.thumbnail.name.startswith("drone/thumbs/")
    ingested_at = time.monotonic()

    # The web process renders tiles from its own copy of the COG, fetched from the bucket.
    operator, reviewer, admin = (client_for(user) for user in (setup.operator, setup.reviewer, setup.admin))
    west, south, east, north = basemap.bounds
    tile = morecantile.tms.get("WebMercatorQuad").tile((west + east) / 2, (south + north) / 2, basemap.max_zoom)
    response = operator.get(f"/tiles/{basemap.id}/{tile.z}/{tile.x}/{tile.y}.png")
    assert response.status_code == 200 and response.content.startswith(PNG)
    assert (Path(s3_media["TILE_CACHE_DIR"]) / f"{basemap.cog_sha256}.tif").is_file()
    for action, field_file in (("file", image.file), ("thumbnail", image.thumbnail)):
        _served_from_the_bucket(operator, f"/api/v1/drone-images/{image.id}/{action}/", s3_server, field_file.name)
    outsider = client_for(setup.outsider)
    assert outsider.get(f"/api/v1/drone-images/{image.id}/file/").status_code == 404

    # Clicks: the worker reads the basemap and the model from the bucket and writes the heatmaps there.
    targets = [_predicted(mission, index, s3_worker) for index in (0, 1)]
    worker_copies = {path.name for path in _files_under(s3_worker.scratch)}
    assert {f"{basemap.cog_sha256}.tif", f"{mission.version.sha256}.pt"} <= worker_copies
    heatmap = targets[0].prediction.heatmap.name
    assert heatmap.startswith("heatmaps/") and heatmap in bucket_keys(s3_server)
    url = f"/api/v1/predictions/{targets[0].prediction.id}/heatmap/"
    assert Image.open(io.BytesIO(_served_from_the_bucket(reviewer, url, s3_server, heatmap))).mode == "RGBA"
    assert outsider.get(url).status_code == 404
    predicted_at = time.monotonic()

    # Approve both; export the mission and fine-tune on the labels: the worker writes the zip and the new checkpoint
    # to the bucket (reading the COG, the drone photos and the base checkpoint from it).
    for target in targets:
        assert reviewer.post("/api/v1/reviews/", {"target": target.id, "decision": "approve"}).status_code == 201
    export = operator.post("/api/v1/exports/", {"mission": setup.mission.id}).json()
    run = admin.post("/api/v1/training-runs/", {"team": setup.team.id, "epochs": 1, "batch_size": 1}).json()
    export = wait_until(lambda: _finished(operator, f"/api/v1/exports/{export['id']}/"), timeout_s=300, what="export")
    assert export["status"] == "succeeded", export
    archive = zipfile.ZipFile(io.BytesIO(_served_from_the_bucket(
        operator, export["download_url"], s3_server, ExportJob.objects.get(id=export["id"]).file.name
    )))  # fmt: skip
    assert f"mission_{setup.mission.id}/manifest.json" in archive.namelist() and export["item_count"] == 2
    run = wait_until(lambda: _finished(admin, f"/api/v1/training-runs/{run['id']}/"), timeout_s=400, what="fine-tune")
    assert run["status"] == "succeeded", run
    version = ModelVersion.objects.get(training_run_id=run["id"])
    assert version.checkpoint.name.startswith("checkpoints/") and version.checkpoint.name in bucket_keys(s3_server)

    assert _files_under(s3_media["MEDIA_ROOT"]) == []  # nothing went to the local media folder
    timings = (ingested_at - started, predicted_at - ingested_at, time.monotonic() - predicted_at)
    print(
        "\nS3 media: upload + ingest {:.1f} s, tiles + 2 clicks {:.1f} s, export + fine-tune {:.1f} s".format(*timings)
    )
