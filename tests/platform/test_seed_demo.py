"""seed_demo: the demo team with one login per role, the synthetic mission uploaded through the services (basemap
with its bounds and ingest queued, drone photos with their EXIF GPS), the demo model active — and nothing twice."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import Team
from core.models import JobStatus
from missions.models import Basemap, DroneImage, Mission
from registry.models import ModelActivation, ModelVersion
from registry.services import model_version_activate
from smgeo.synth.mission import write_mission
from tests.platform.builders import make_model_version
from tests.platform.imagery_fixtures import ingested

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = ROOT / "checkpoints" / "smgeo-tiny-synthetic.pt"


@pytest.fixture(scope="module")
def mission_dir(tmp_path_factory) -> Path:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("demo-mission")
    write_mission(folder, scenes=1, seed=0, split="test")
    return folder


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def seed_all(mission_dir: Path) -> str:
    return seed("--mission-dir", str(mission_dir), "--checkpoint", str(CHECKPOINT), "--base-url", "http://x:1")


def test_seeding_twice_makes_one_team_one_mission_and_one_active_model(
    mission_dir: Path,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    with django_capture_on_commit_callbacks() as first_enqueued:
        first = seed_all(mission_dir)
    with django_capture_on_commit_callbacks() as second_enqueued:
        second = seed_all(mission_dir)

    team = Team.objects.get(name="Demo team")
    roles = {m.user.username: m.role for m in team.memberships.select_related("user")}
    assert roles == {"operator": "operator", "reviewer": "reviewer", "admin": "admin"}
    assert authenticate(username="operator", password=settings.DEMO_PASSWORD) is not None
    assert authenticate(username="reviewer", password=settings.DEMO_PASSWORD) is not None
    admin = authenticate(username="admin", password=settings.DEMO_ADMIN_PASSWORD)
    assert admin is not None and admin.is_superuser and admin.is_staff

    mission = Mission.objects.get()
    assert mission.team == team and mission.name == "Demo mission"
    manifest = json.loads((mission_dir / "mission.json").read_text())
    basemap = Basemap.objects.get()
    assert basemap.mission == mission and basemap.source_bounds == manifest["basemaps"][0]["bounds"]
    assert basemap.status == JobStatus.QUEUED and len(first_enqueued) == 1 and len(second_enqueued) == 0
    images = {image.original_name: image for image in DroneImage.objects.filter(mission=mission)}
    assert sorted(images) == sorted(entry["file"] for entry in manifest["drone_images"])
    for entry in manifest["drone_images"]:  # read from the JPEGs' EXIF, not from the manifest
        image = images[entry["file"]]
        assert image.gps_lon == pytest.approx(entry["camera"]["lon"], abs=1e-6)
        assert image.gps_lat == pytest.approx(entry["camera"]["lat"], abs=1e-6)

    version = ModelVersion.objects.get()
    team.refresh_from_db()
    assert version.team == team and team.active_model == version and ModelActivation.objects.count() == 1

    assert "operator   smgeo-demo" in first and "[created]" in first and "[created]" not in second
    assert f"http://x:1/missions/{mission.id}/" in first and f"http://x:1/missions/{mission.id}/" in second
    assert "(created)" not in second


def test_the_seeded_basemap_ingests_with_the_generator_s_bounds(mission_dir: Path) -> None:
    seed_all(mission_dir)
    basemap = ingested(Basemap.objects.get().id)
    assert basemap.status == JobStatus.SUCCEEDED, basemap.error
    west, south, east, north = json.loads((mission_dir / "mission.json").read_text())["basemaps"][0]["bounds"]
    assert basemap.width == basemap.height == 1024
    assert basemap.bounds == pytest.approx([west, south, east, north], abs=1e-7)
    assert basemap.gsd_m == pytest.approx(0.3, rel=0.02)


def test_seeding_again_queues_an_ingest_that_failed(mission_dir: Path) -> None:
    seed_all(mission_dir)
    Basemap.objects.update(status=JobStatus.FAILED, error="the job queue could not be reached")
    seed_all(mission_dir)
    assert Basemap.objects.get().status == JobStatus.QUEUED and Basemap.objects.count() == 1


def test_seeding_again_keeps_the_version_an_admin_activated_since(mission_dir: Path) -> None:
    seed_all(mission_dir)
    team = Team.objects.get(name="Demo team")
    fine_tuned = make_model_version(team, "fine-tuned")
    model_version_activate(version=fine_tuned, team=team, by=team.memberships.get(role="admin").user)
    out = seed_all(mission_dir)
    team.refresh_from_db()
    assert team.active_model == fine_tuned and "not active (an admin activated another version)" in out


def test_without_a_mission_folder_only_the_team_and_logins_are_made() -> None:
    out = seed()
    assert Team.objects.filter(name="Demo team").count() == 1 and not Mission.objects.exists()
    assert "reviewer" in out and "/missions/" not in out and not ModelVersion.objects.exists()
