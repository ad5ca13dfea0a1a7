"""The demo mission and model: the files `smgeo mission` wrote (basemap PNGs with lon/lat bounds, drone JPEGs with
EXIF GPS, mission.json) uploaded through the same services the API uses, and the demo checkpoint registered and
active, so the first click of a newcomer gets a box.

Idempotent: the mission is found by name, a basemap by its file name, a drone image by its sha256 (the upload
service returns the one already there), the model version by its sha256. The platform never imports smgeo: the
manifest is plain JSON.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Team
from core.errors import InvalidInput
from core.models import JobStatus
from missions.basemap_services import basemap_create, basemap_retry
from missions.drone_services import drone_image_create
from missions.models import Basemap, DroneImage, Mission
from missions.services import mission_create
from registry.models import ModelVersion
from registry.services import model_version_activate, model_version_register_file

MISSION_NAME = "Demo mission"
MISSION_DESCRIPTION = "A synthetic survey written by `smgeo mission`: click a target in a drone photo to see its box."


@dataclass(frozen=True)
class DemoMission:
    mission: Mission
    created: bool
    basemaps: list[Basemap]
    basemaps_created: int
    drone_images: list[DroneImage]
    drone_images_created: int


def demo_mission_seed(*, team: Team, folder: Path, by: AbstractBaseUser) -> DemoMission:
    """Create (or find) the demo mission of `team` and upload the files in `folder` into it as `by` (an operator).
    A basemap whose ingest failed earlier (say, the broker was down) is queued again."""
    manifest = read_manifest(folder)
    mission = team.missions.filter(name=MISSION_NAME).first()
    created = mission is None
    if mission is None:
        mission = mission_create(team=team, name=MISSION_NAME, description=MISSION_DESCRIPTION, by=by)
    basemaps = [_basemap(mission, folder, entry, number, by) for number, entry in enumerate(manifest["basemaps"], 1)]
    uploads = (_upload(folder, entry["file"]) for entry in manifest["drone_images"])
    images = [drone_image_create(mission_id=mission.id, upload=upload, by=by) for upload in uploads]
    return DemoMission(
        mission=mission,
        created=created,
        basemaps=[basemap for basemap, _ in basemaps],
        basemaps_created=sum(new for _, new in basemaps),
        drone_images=[image for image, _ in images],
        drone_images_created=sum(new for _, new in images),
    )


def read_manifest(folder: Path) -> dict:
    """mission.json as `smgeo mission` writes it; an error naming the folder when it is missing."""
    path = folder / "mission.json"
    if not path.is_file():
        raise InvalidInput(f"no mission.json in {folder}; write one with `smgeo mission --out {folder}`")
    return json.loads(path.read_text())


def demo_model_seed(*, team: Team, checkpoint: Path, by: AbstractBaseUser) -> tuple[ModelVersion, bool]:
    """Register the checkpoint for the team (by its admin) and activate it when the team runs no model yet, so a
    version an admin activated later is never replaced. Returns (version, registered now)."""
    version, created = model_version_register_file(path=checkpoint, name=checkpoint.stem, team=team, by=by)
    if team.active_model_id is None:
        model_version_activate(version=version, team=team, by=by, reason="seed_demo")
        team.refresh_from_db(fields=["active_model"])
    return version, created


def _basemap(mission: Mission, folder: Path, entry: dict, number: int, by: AbstractBaseUser) -> tuple[Basemap, bool]:
    existing = mission.basemaps.filter(original_name=entry["file"]).first()
    if existing is not None:
        if existing.status == JobStatus.FAILED:
            existing = basemap_retry(basemap=existing, by=by)
        return existing, False
    upload = _upload(folder, entry["file"])
    name = f"Synthetic basemap {number}"
    return basemap_create(mission_id=mission.id, upload=upload, by=by, name=name, bounds=entry["bounds"]), True


def _upload(folder: Path, name: str) -> SimpleUploadedFile:
    """A file of the mission folder as the upload services take it (the files are a few MB at most)."""
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return SimpleUploadedFile(name, (folder / name).read_bytes(), content_type)
