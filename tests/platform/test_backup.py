"""`manage.py backup` and `restore`: a round trip brings back every mission, photo, label and model version with its
file, including what was deleted after the backup; on PostgreSQL (pg_dump) here and on the embedded SQLite default
(its online backup: rows still in the write-ahead log are in it) in a process of its own."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from localization.models import Review, Target
from missions.models import DroneImage, Mission
from registry.models import ModelVersion
from tests.platform.builders import labelled_target, make_basemap, make_drone_image, make_model_version
from tests.platform.factories import make_mission, team_setup

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def inventory() -> dict:
    """Every row a team cares about and the bytes of every file they name."""
    files = {}
    for model, field in ((DroneImage, "file"), (ModelVersion, "checkpoint")):
        for row in model.objects.all():
            stored = getattr(row, field)
            with default_storage.open(stored.name, "rb") as handle:
                files[stored.name] = hashlib.sha256(handle.read()).hexdigest()
    return {
        "missions": sorted(Mission.objects.values_list("name", flat=True)),
        "photos": sorted(DroneImage.objects.values_list("id", flat=True)),
        "labels": sorted(Review.objects.values_list("target_id", "decision")),
        "targets": Target.objects.count(),
        "versions": sorted(ModelVersion.objects.values_list("name", flat=True)),
        "files": files,
    }


def test_a_round_trip_restores_every_row_and_file_even_those_deleted_after_the_backup(tmp_path: Path) -> None:
    setup = team_setup()
    version = make_model_version(setup.team, "field-v1")
    basemap = make_basemap(setup.mission)
    photos = [make_drone_image(setup.mission) for _ in range(2)]
    for photo, decision in zip(photos, ("approve", "correct"), strict=True):
        labelled_target(setup.mission, photo, basemap, version, setup.reviewer, decision=decision,
                        box=[1, 1, 20, 20], final_box=[2, 2, 22, 22])  # fmt: skip
    before = inventory()
    archive = tmp_path / "backups" / "site.tar"
    call_command("backup", str(archive))
    assert archive.is_file()

    lost = photos[0]  # after the backup: a photo deleted with its file, a mission added
    lost.file.delete(save=False)
    lost.delete()
    make_mission(setup.team, "after the backup")
    assert inventory() != before

    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(archive))
    call_command("restore", str(archive), yes=True)
    assert inventory() == before


def test_the_embedded_sqlite_default_is_backed_up_online_with_what_is_still_in_its_log(tmp_path: Path) -> None:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.local", VAR_DIR=str(tmp_path / "var"))
    env.pop("DATABASE_URL", None)

    def manage(*args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage("migrate", "--noinput")
    writes_then_backs_up = (  # its connection stays open: the rows sit in db.sqlite3-wal while the backup runs
        "import pathlib, subprocess, sys; from django.conf import settings\n"
        "from accounts.models import Team; from missions.models import Mission\n"
        "team = Team.objects.create(name='wal team')\n"
        "[Mission.objects.create(team=team, name=f'mission {i}') for i in range(3)]\n"
        "wal = pathlib.Path(settings.DATABASES['default']['NAME'] + '-wal')\n"
        "print('log bytes', wal.stat().st_size)\n"
        f"subprocess.run([sys.executable, 'manage.py', 'backup', {str(tmp_path / 'site.tar')!r}], check=True)\n"
    )
    assert int(manage("shell", "-c", writes_then_backs_up).split("log bytes ")[1].split()[0]) > 0
    (tmp_path / "var" / "db.sqlite3").unlink()
    for extra in ("-wal", "-shm"):
        (tmp_path / "var" / f"db.sqlite3{extra}").unlink(missing_ok=True)
    manage("migrate", "--noinput")  # an empty site
    assert "restored the sqlite database" in manage("restore", str(tmp_path / "site.tar"), "--yes")
    counted = manage("shell", "-c", "from missions.models import Mission; print(Mission.objects.count())")
    assert counted.strip().splitlines()[-1] == "3"
