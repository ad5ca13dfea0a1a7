"""The learning curve's steps, each the way a team does it through the API (the Django test client on the real
views, a real Celery worker doing the work): upload a mission on a shifted domain, click every photo, review the
queue in one order with the true box standing in for the reviewer, fine-tune, re-predict the held-out mission.

Two shifted domains (DOMAINS), neither seen by the demo model:
- "lookalikes": `smgeo mission` with hard difficulty (more and closer look-alikes), 0.4 m per basemap pixel (the demo
  model's missions: 0.3), drone pitch 40-65 degrees from nadir (hard: 30-60) and photometric change 0.9 (hard: 0.8);
- "arid": another rendering style of ground, roads, roofs, walls and trees (smgeo.synth.styles), the generator's
  default difficulty, 0.3 m per pixel.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from localization.models import Target
from missions.models import Basemap
from smgeo.synth.generate import synth_options
from smgeo.synth.mission import write_mission
from tests.conftest import wait_until
from tests.workers.synthetic_mission import box_iou

PHOTOS_PER_SCENE = 8
DOMAINS = {
    "lookalikes": {"difficulty": "hard", "pitch_deg": (40.0, 65.0), "photometric": 0.9, "gsd_m": 0.4},
    "arid": {"difficulty": "default", "style": "arid", "gsd_m": 0.3},
}
FINISHED = ("succeeded", "failed", "cancelled")


def expect(response, status: int = 200) -> dict:  # noqa: ANN001
    assert response.status_code == status, f"{response.status_code}: {response.content[:500]!r}"
    return response.json() if response.content else {}


@dataclass
class Photo:
    """One drone photo of a mission: its ids in the platform and the generator's click and true box."""

    image_id: int
    basemap_id: int
    click: tuple[float, float]
    box: list[float]
    target_id: int = 0


def upload_mission(
    operator: APIClient, mission_id: int, folder: Path, *, seed: int, photos: int, domain: str
) -> list[Photo]:
    """Generate a mission on a shifted domain (DOMAINS) with at least `photos` drone photos, upload its basemaps
    (with their bounds; the worker ingests them) and photos; the photos."""
    look = dict(DOMAINS[domain])
    gsd_m, difficulty = look.pop("gsd_m"), look.pop("difficulty")
    options = synth_options(difficulty, targets_per_scene=PHOTOS_PER_SCENE, **look)
    scenes = math.ceil(photos / PHOTOS_PER_SCENE)
    manifest = write_mission(folder, scenes=scenes, seed=seed, split="test", gsd_m=gsd_m, options=options)
    basemap_ids = []
    for index, entry in enumerate(manifest["basemaps"]):
        data = SimpleUploadedFile("basemap.png", (folder / entry["file"]).read_bytes(), "image/png")
        body = {
            "mission": mission_id,
            "name": f"scene {index}",
            "bounds": ",".join(map(str, entry["bounds"])),
            "file": data,
        }
        basemap_ids.append(expect(operator.post("/api/v1/basemaps/", body, format="multipart"), 201)["id"])
    wait_until(
        lambda: not Basemap.objects.filter(id__in=basemap_ids).exclude(status__in=FINISHED).exists(),
        timeout_s=600, what="the basemaps' ingest",
    )  # fmt: skip
    assert Basemap.objects.filter(id__in=basemap_ids, status="succeeded").count() == len(basemap_ids)
    uploaded = []
    for entry in manifest["drone_images"]:
        data = SimpleUploadedFile(entry["file"], (folder / entry["file"]).read_bytes(), "image/jpeg")
        image = expect(operator.post("/api/v1/drone-images/", {"mission": mission_id, "file": data}, "multipart"), 201)
        uploaded.append(Photo(image["id"], basemap_ids[entry["basemap"]], tuple(entry["click"]), entry["box_px"]))
    return uploaded


def click_all(operator: APIClient, photos: list[Photo]) -> None:
    """The operator clicks every photo at the generator's click; returns when the worker predicted them all."""
    for photo in photos:
        body = {"drone_image": photo.image_id, "basemap": photo.basemap_id, "click_x": photo.click[0],
                "click_y": photo.click[1]}  # fmt: skip
        photo.target_id = expect(operator.post("/api/v1/targets/", body, format="json"), 201)["id"]
    ids = [photo.target_id for photo in photos]
    wait_until(
        lambda: not Target.objects.filter(id__in=ids).exclude(status__in=("predicted", "failed")).exists(),
        timeout_s=1800, every_s=1.0, what="the clicks' predictions",
    )  # fmt: skip
    failed = Target.objects.filter(id__in=ids, status="failed").count()
    assert not failed, f"{failed} clicks failed"


def review_next(
    reviewer: APIClient, mission_id: int, order: str, truth: dict[int, list[float]], count: int
) -> tuple[int, int]:
    """Take `count` targets from the review queue in `order`; approve a box over IoU 0.5 with the truth, else correct
    it to the true box. The number reviewed (fewer when the queue ran dry) and of them corrected."""
    done = corrected = 0
    for _ in range(count):
        response = reviewer.get(f"/api/v1/targets/next-review/?mission={mission_id}&order={order}")
        if response.status_code == 204:
            break
        target = expect(response)
        true_box = truth[target["id"]]
        good = box_iou(target["prediction"]["box"], true_box) > 0.5
        body = {"target": target["id"], "decision": "approve" if good else "correct", "expected_status": "predicted"}
        if not good:
            body["final_box"] = true_box
        expect(reviewer.post("/api/v1/reviews/", body, format="json"), 201)
        done, corrected = done + 1, corrected + (not good)
    return done, corrected


def reopen_all(reviewer: APIClient, target_ids: list[int]) -> None:
    """Undo every decision on these targets (they go back to the queue)."""
    for target_id in Target.objects.filter(id__in=target_ids, status__in=("approved", "corrected")).values_list(
        "id", flat=True
    ):
        expect(reviewer.post("/api/v1/reviews/", {"target": target_id, "decision": "reopen"}, format="json"), 201)


def fine_tune(admin: APIClient, team_id: int, base_version: int, replay: float = 0.0, lr: float | None = None) -> dict:
    """A training run on the team's reviewed labels from `base_version` with the platform's default, the fine-tune
    recipe (smgeo.finetune: its step budget whatever the label count); the finished run."""
    body = {"team": team_id, "base_version": base_version, "batch_size": 8, "replay": replay, "lr": lr}
    run = expect(admin.post("/api/v1/training-runs/", body, format="json"), 201)
    return wait_until(
        lambda: _finished(expect(admin.get(f"/api/v1/training-runs/{run['id']}/"))),
        timeout_s=3600, every_s=2.0, what=f"training run {run['id']}",
    )  # fmt: skip


def _finished(run: dict) -> dict | None:
    return run if run["status"] in FINISHED else None


def held_out_accuracy(reviewer: APIClient, mission_id: int, version_id: int, truth: dict[int, list[float]]) -> dict:
    """Re-predict every click of the held-out mission with a version (a prediction batch on the worker); acc@0.5 and
    mean IoU against the true boxes, with n."""
    batch = expect(
        reviewer.post("/api/v1/prediction-batches/", {"mission": mission_id, "model_version": version_id}, "json"), 201
    )
    batch = wait_until(
        lambda: _finished(expect(reviewer.get(f"/api/v1/prediction-batches/{batch['id']}/"))),
        timeout_s=1800, every_s=1.0, what=f"prediction batch {batch['id']}",
    )  # fmt: skip
    assert batch["status"] == "succeeded", batch["error"]
    page = expect(reviewer.get(f"/api/v1/predictions/?batch={batch['id']}&page_size=500"))
    ious = [box_iou(row["box"], truth[row["target"]]) for row in page["results"]]
    assert len(ious) == len(truth), f"{len(ious)} predictions for {len(truth)} clicks"
    return {"acc@0.5": sum(iou > 0.5 for iou in ious) / len(ious), "mIoU": statistics.fmean(ious), "n": len(ious)}


def mean_std(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "seeds": len(values)}  # fmt: skip
