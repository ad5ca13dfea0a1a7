"""A synthetic field mission in the platform, made the way a team makes one: smgeo's generator writes a basemap
(PNG + lon/lat bounds) and drone photos with EXIF GPS; they are uploaded through the API and the basemap is
ingested; the committed demo model is registered and active."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from localization.models import Target
from missions.models import Basemap, DroneImage
from registry.models import ModelVersion
from registry.services import model_version_activate_unchecked, model_version_register_file
from smgeo.synth.mission import write_mission
from tests.conftest import wait_until
from tests.platform.factories import TeamSetup, client_for, team_setup
from tests.platform.imagery_fixtures import ingested

ROOT = Path(__file__).resolve().parents[2]
DEMO_CHECKPOINT = ROOT / "checkpoints" / "smgeo-tiny-synthetic.pt"


@dataclass
class SyntheticMission:
    setup: TeamSetup
    basemap: Basemap
    drone_images: list[DroneImage]
    truth: list[dict]  # per drone image: click, box_px, box_lonlat, camera (from the generator)
    version: ModelVersion


def mission_files(folder: Path) -> dict:
    """The generator's files for the test mission (written once per folder)."""
    manifest = folder / "mission.json"
    if manifest.is_file():
        return json.loads(manifest.read_text())
    return write_mission(folder, scenes=1, seed=0, split="test")


def build_synthetic_mission(folder: Path, *, gps: bool = True) -> SyntheticMission:
    manifest = mission_files(folder)
    setup = team_setup()
    operator = client_for(setup.operator)
    basemap_entry = manifest["basemaps"][0]
    response = operator.post(
        "/api/v1/basemaps/",
        {
            "mission": setup.mission.id,
            "name": "synthetic basemap",
            "bounds": ",".join(str(v) for v in basemap_entry["bounds"]),
            "file": SimpleUploadedFile("basemap.png", (folder / basemap_entry["file"]).read_bytes(), "image/png"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    basemap_id = response.json()["id"]
    ingested(basemap_id)  # here, unless a running worker took the job first: then wait for its ingest
    basemap = wait_until(
        lambda: Basemap.objects.filter(id=basemap_id, status__in=["succeeded", "failed"]).first(),
        timeout_s=120, what="the basemap ingest",
    )  # fmt: skip
    assert basemap.status == "succeeded", basemap.error
    images, truth = [], []
    for entry in manifest["drone_images"]:
        if entry["basemap"] != 0:
            continue
        data = (folder / entry["file"]).read_bytes()
        response = operator.post(
            "/api/v1/drone-images/",
            {"mission": setup.mission.id, "file": SimpleUploadedFile(entry["file"], data, "image/jpeg")},
            format="multipart",
        )
        assert response.status_code == 201, response.content
        image = DroneImage.objects.get(id=response.json()["id"])
        if not gps:
            DroneImage.objects.filter(id=image.id).update(gps_lat=None, gps_lon=None)
            image.refresh_from_db()
        images.append(image)
        truth.append(entry)
    version = register_demo_model(setup)
    return SyntheticMission(setup, basemap, images, truth, version)


def register_demo_model(setup: TeamSetup, path: Path = DEMO_CHECKPOINT, name: str = "demo") -> ModelVersion:
    version, _ = model_version_register_file(path=path, name=name, team=setup.team, by=setup.admin)
    model_version_activate_unchecked(version=version, team=setup.team, reason="test")
    return version


def click(mission: SyntheticMission, index: int, **fields: object) -> dict:
    """POST a target for drone image `index` at the generator's click, as the operator; the response body."""
    entry = mission.truth[index]
    body = {
        "drone_image": mission.drone_images[index].id,
        "basemap": mission.basemap.id,
        "click_x": entry["click"][0],
        "click_y": entry["click"][1],
        **fields,
    }
    response = client_for(mission.setup.operator).post("/api/v1/targets/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def box_iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def target_of(body: dict) -> Target:
    return Target.objects.select_related("prediction", "drone_image", "basemap", "mission__team").get(id=body["id"])
