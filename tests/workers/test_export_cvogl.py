"""workers.export_cvogl through a real Celery worker: the zip reads back with smgeo's CVOGL reader, and every box
and click lands where the object is. Plus the window/split geometry on its own."""

import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.models import JobStatus
from exports.models import ExportJob
from smgeo.data.cvogl import SPLITS, CVOGLDataset, read_records
from tests.platform.builders import (
    labelled_target,
    make_basemap,
    make_drone_image,
    make_model_version,
    make_prediction,
    make_target,
    write_geotiff,
)
from tests.platform.factories import client_for, team_setup
from workers.cvogl_labels import ExportError, label_square, query_size_of, scale_click, split_of
from workers.exports import export_cvogl

EXPORTS = "/api/v1/exports/"


# ------------------------------------------------------------------------------------------ geometry
def reference_window(box: list[float], width: int, height: int, key: str) -> tuple[float, float, float]:
    x1, y1, x2, y2 = label_square(box, width, height, key)
    assert x2 - x1 == y2 - y1
    return x1, y1, x2 - x1


def test_the_reference_window_holds_the_box_with_context_and_stays_inside_the_basemap() -> None:
    for key in range(200):
        box = [900.0, 700.0, 960.0, 740.0]
        x0, y0, side = reference_window(box, 4000, 3000, f"review:{key}")
        assert side == 1024 and 0 <= x0 <= 4000 - side and 0 <= y0 <= 3000 - side
        assert x0 + 0.05 * side <= box[0] and box[2] <= x0 + 0.95 * side
        assert y0 + 0.05 * side <= box[1] and box[3] <= y0 + 0.95 * side
    assert reference_window(box, 4000, 3000, "review:7") == reference_window(box, 4000, 3000, "review:7")
    assert reference_window([0, 0, 1000, 400], 1500, 1500, "k")[2] == 2500  # 2.5 x the longer side
    x0, _, _ = reference_window([1480, 10, 1500, 30], 1500, 1500, "k")
    assert x0 == 1500 - 1024  # pushed back inside at the edge
    for key in range(50):  # a window larger than the basemap covers all of it (padded around)
        x0, y0, side = reference_window([450, 700, 1150, 1300], 1600, 1400, str(key))
        assert side == 1750 and 1600 - side <= x0 <= 0 and 1400 - side <= y0 <= 0


def test_splits_follow_the_drone_image_about_80_10_10() -> None:
    splits = [split_of(i) for i in range(2000)]
    assert [split_of(i) for i in range(2000)] == splits
    share = {split: splits.count(split) / len(splits) for split in SPLITS}
    assert 0.75 < share["train"] < 0.85 and 0.07 < share["val"] < 0.13 and 0.07 < share["test"] < 0.13


def test_query_size_and_click_scaling() -> None:
    assert query_size_of(None) == (256, 256) and query_size_of({"model": {"query_size": [128, 96]}}) == (128, 96)
    assert query_size_of({"model": {"query_size": 64}}) == (64, 64)
    with pytest.raises(ExportError, match="larger than 2048 pixels"):  # registered before the registry bounded it
        query_size_of({"model": {"query_size": 20000}})
    assert scale_click((99.5, 0), (200, 100), (100, 50)) == (49.5, -0.25)


# ------------------------------------------------------------------------------------------ the task
MARKERS = {"t1": (300, 400), "t2": (1500, 200), "t3": (800, 1000)}


@pytest.fixture
def export_mission(tmp_path: Path):  # noqa: ANN201
    """A mission on a 1600 x 1400 px UTM basemap with white markers where the objects are: 3 labels on 2 drone
    images (one at the basemap's edge, one box so large its window is padded), plus a rejected and a predicted
    target that are not exported."""
    setup = team_setup()
    version = make_model_version(setup.team, "v1", config={"model": {"query_size": [128, 128]}})
    setup.team.active_model = version
    setup.team.save(update_fields=["active_model"])
    cog = write_geotiff(tmp_path / "basemap.tif", width=1600, height=1400, markers=list(MARKERS.values()))
    basemap = make_basemap(setup.mission, width=1600, height=1400, cog_path=cog)
    drone_a = make_drone_image(setup.mission, width=200, height=150, dots=[(50, 60), (120, 90)])
    drone_b = make_drone_image(setup.mission, width=160, height=120, dots=[(30, 40)])
    m, r = setup.mission, setup.reviewer
    labelled_target(m, drone_a, basemap, version, r, decision="approve", box=[285, 388, 316, 413], click=(50, 60))
    labelled_target(
        m,
        drone_a,
        basemap,
        version,
        r,
        decision="correct",
        box=[1400, 300, 1450, 340],
        final_box=[1488, 188, 1512, 214],
        click=(120, 90),
        label="truck",
    )
    labelled_target(m, drone_b, basemap, version, r, decision="approve", box=[450, 700, 1150, 1300], click=(30, 40))
    labelled_target(m, drone_b, basemap, version, r, decision="reject", box=[10, 10, 30, 30], click=(5, 5))
    make_prediction(make_target(m, drone_b, basemap, click=(6, 6)), version, [40, 40, 60, 60])
    setup.basemap = basemap
    return setup


def wait_for(job_id: int, timeout_s: float = 120.0) -> ExportJob:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = ExportJob.objects.get(id=job_id)
        if job.is_finished:
            return job
        time.sleep(0.3)
    raise AssertionError(f"export {job_id} still {job.status} after {timeout_s}s")


def _marker_in_frame(entry: dict) -> tuple[float, float]:
    """Where the marker of this pair's object lies in its 1024 px reference, from the window in the manifest."""
    x1, y1, x2, y2 = entry["box_px"]
    mx, my = next((x, y) for x, y in MARKERS.values() if x1 <= x <= x2 and y1 <= y <= y2)
    wx1, wy1, wx2, _ = entry["reference_window_px"]
    scale = 1024 / (wx2 - wx1)
    return (mx - wx1) * scale, (my - wy1) * scale


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_exports_a_cvogl_dataset_that_reads_back(export_mission, celery_worker, tmp_path) -> None:  # noqa: ANN001
    client = client_for(export_mission.operator)
    created = client.post(EXPORTS, {"mission": export_mission.mission.id})
    assert created.status_code == 201, created.json()
    job = wait_for(created.json()["id"])
    assert job.status == JobStatus.SUCCEEDED, job.error + celery_worker.log()
    detail = client.get(f"{EXPORTS}{job.id}/").json()
    assert detail["item_count"] == 3 and detail["progress"] == 1.0 and detail["download_url"]
    response = client.get(detail["download_url"])
    assert response.status_code == 200
    zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).extractall(tmp_path / "out")

    name = f"mission_{export_mission.mission.id}"
    records = {split: read_records(tmp_path / "out", name, split) for split in SPLITS}
    assert sum(len(r) for r in records.values()) == 3
    root = tmp_path / "out" / name
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["query_size"] == [128, 128] and len(manifest["items"]) == 3
    entries = {e["sample_id"]: e for e in manifest["items"]}
    for split, split_records in records.items():
        for record in split_records:
            entry = entries[record.sample_id]
            assert entry["split"] == split
            x, y = _marker_in_frame(entry)
            x1, y1, x2, y2 = record.box
            assert x1 <= x <= x2 and y1 <= y <= y2, (record, (x, y))  # the object is inside its exported box
            satellite = np.asarray(Image.open(root / "satellite" / record.satellite_file).convert("L"))
            assert satellite.shape == (1024, 1024)
            assert satellite[round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2].min() > 200  # and it is there
            query = np.asarray(Image.open(root / "query" / record.query_file).convert("L"))
            assert query.shape == (128, 128)
            cx, cy = round(record.click[0]), round(record.click[1])
            assert query[cy - 1 : cy + 2, cx - 1 : cx + 2].max() > 150  # the click is on the dot in the photo
    by_query = {}
    for split, split_records in records.items():
        for record in split_records:
            by_query.setdefault(record.query_file, set()).add(split)
    assert len(by_query) == 2 and all(len(splits) == 1 for splits in by_query.values())  # split by drone image
    truck = next(r for rs in records.values() for r in rs if r.category == "truck")
    assert entries[truck.sample_id]["box_px"] == [1488, 188, 1512, 214]  # the corrected box, not the prediction
    for split in SPLITS:
        if records[split]:
            sample = CVOGLDataset(tmp_path / "out", name, split)[0]
            assert sample["reference"].size == (1024, 1024) and sample["frame_box"].shape == (4,)


@pytest.mark.django_db(transaction=True)
def test_a_basemap_without_a_cog_fails_the_export_with_the_reason(export_mission, celery_worker) -> None:  # noqa: ANN001
    export_mission.basemap.cog_file = ""
    export_mission.basemap.save(update_fields=["cog_file"])
    created = client_for(export_mission.operator).post(EXPORTS, {"mission": export_mission.mission.id}).json()
    job = wait_for(created["id"])
    assert job.status == JobStatus.FAILED and export_mission.basemap.name in job.error and "no COG" in job.error
    assert not job.file


@pytest.mark.django_db(transaction=True)
def test_cancel_is_honoured_and_a_missing_job_is_skipped(export_mission) -> None:
    job = ExportJob.objects.create(mission=export_mission.mission, cancel_requested=True)
    assert export_cvogl.apply(args=[job.id]).get()["status"] == "cancelled"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and not job.file
    assert export_cvogl.apply(args=[987654]).get()["status"] == "skipped"
