"""Outages of what the platform stands on, on the real servers: PostgreSQL stopped and started again while requests
are in flight, and a media storage that is full or read-only (real filesystems mounted for the test). Each answers a
clear 503/507 that names what is down, keeps nothing half-stored, and recovers with no manual step."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from missions.models import DroneImage, Mission
from tests.platform.factories import client_for, team_setup
from tests.platform.imagery_fixtures import image_bytes, upload

DRONE_URL = "/api/v1/drone-images/"


# ------------------------------------------------------------------------------------------- the media storage
@pytest.fixture
def small_media_root(tmp_path: Path, settings) -> Iterator[Path]:  # noqa: ANN001
    """MEDIA_ROOT on a real 1 MiB tmpfs (the test command runs as root, as CI does)."""
    root = tmp_path / "media"
    root.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(root)], capture_output=True)
    assert mounted.returncode == 0, f"could not mount a tmpfs for the test (run as root): {mounted.stderr.decode()}"
    settings.MEDIA_ROOT = str(root)
    try:
        yield root
    finally:
        subprocess.run(["umount", str(root)], check=True)


def _files_under(root: Path) -> list[str]:
    return [str(Path(folder, name)) for folder, _, names in os.walk(root) for name in names]


def _noise_png(width: int, height: int) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG")
    return out.getvalue()


def _post_drone_image(setup, data: bytes, name: str):  # noqa: ANN001, ANN202
    client = client_for(setup.operator)
    client.raise_request_exception = False  # answer as a server does, through handler500
    return client.post(DRONE_URL, {"mission": setup.mission.id, "file": upload(data, name)}, format="multipart")


@pytest.mark.django_db
def test_a_full_media_storage_answers_507_and_stores_nothing(small_media_root: Path) -> None:
    setup = team_setup()
    big = _noise_png(800, 600)  # about 1.4 MB of PNG: more than the storage holds
    assert len(big) > 1024 * 1024
    response = _post_drone_image(setup, big, "big.png")
    assert response.status_code == 507, response.content
    body = response.json()
    assert body["code"] == "storage_full" and "storage is full" in body["detail"]
    assert response["Retry-After"]
    assert not DroneImage.objects.exists() and _files_under(small_media_root) == []
    small = _post_drone_image(setup, image_bytes("PNG", 64, 48), "small.png")
    assert small.status_code == 201, small.content  # what fits is stored as usual


@pytest.mark.django_db
def test_a_read_only_media_storage_answers_503_and_stores_nothing(small_media_root: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_media_root)], check=True)
    setup = team_setup()
    response = _post_drone_image(setup, image_bytes("PNG", 64, 48), "photo.png")
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["code"] == "storage_not_writable" and "cannot be written" in body["detail"]
    assert not DroneImage.objects.exists() and _files_under(small_media_root) == []
    subprocess.run(["mount", "-o", "remount,rw", str(small_media_root)], check=True)
    assert _post_drone_image(setup, image_bytes("PNG", 64, 48), "photo.png").status_code == 201


# ------------------------------------------------------------------------------------------- the database
def _pg_ctl(action: str) -> None:
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    assert versions, "no local PostgreSQL cluster under /etc/postgresql: this test restarts the real server"
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action]
    if action == "stop":
        command += ["-m", "fast"]  # in-flight queries are cut off, as in a crash or a failover
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"


def _call(url: str, token: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Authorization", f"Token {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, {"raw": text.decode(errors="replace")[:200]}


@pytest.mark.django_db(transaction=True)
def test_postgresql_restarting_under_load_answers_503_then_recovers_by_itself(live_server) -> None:  # noqa: ANN001
    setup = team_setup()
    token = Token.objects.create(user=setup.operator).key
    team = setup.mission.team_id
    answers: list[tuple[str, int, dict]] = []
    stop = threading.Event()

    def client(number: int) -> None:
        index = 0
        while not stop.is_set():
            index += 1
            if index % 3 == 0:
                name = f"outage {number}-{index}"
                status, body = _call(f"{live_server.url}/api/v1/missions/", token, "POST", {"team": team, "name": name})
                answers.append((name, status, body))
            else:
                status, body = _call(f"{live_server.url}/api/v1/missions/", token)
                answers.append(("", status, body))
            time.sleep(0.02)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        _pg_ctl("stop")
        time.sleep(2.0)
    finally:
        _pg_ctl("start")
    recovered_at = len(answers)
    time.sleep(3.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    connection.close()  # this thread's connection died with the server; the next query opens a new one

    statuses = [status for _, status, _ in answers]
    assert set(statuses) <= {200, 201, 503}, [a for a in answers if a[1] not in (200, 201, 503)][:3]
    outages = [body for _, status, body in answers if status == 503]
    assert outages, "no request met the stopped database"
    assert all(body["code"] == "database_unavailable" and "database" in body["detail"] for body in outages)
    # recovery without a manual step: once the server is back (a few seconds to accept connections), all succeed
    tail = statuses[recovered_at:][-20:]
    assert len(tail) == 20 and set(tail) <= {200, 201}, tail
    # nothing acknowledged was lost
    created = {name for name, status, _ in answers if status == 201}
    assert created and created <= set(Mission.objects.filter(team_id=team).values_list("name", flat=True))
    print(
        f"postgresql restart: {len(answers)} requests, {dict(sorted(Counter(statuses).items()))}; "
        f"{len(created)} missions created, all stored"
    )
