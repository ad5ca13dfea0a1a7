"""The run command on a machine without Redis: embedded SQLite and broker, /healthz 200 with a worker, the seeded
demo mission answers a click with a box within a minute or two, Ctrl-C stops everything it started, and running it
again is safe."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, token: str = "", body: dict | None = None) -> tuple[int, dict]:
    """GET (or POST `body` as JSON) with an optional API token; (status, JSON body)."""
    headers = {"Authorization": f"Token {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def get_text(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def wait_healthy(proc: subprocess.Popen, url: str, log: Path, timeout_s: float = 240) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(1)
        assert proc.poll() is None, log.read_text()
        try:
            status, body = get_json(url)
        except OSError:
            continue
        if status == 200:
            return body
    raise AssertionError(f"/healthz never answered 200:\n{log.read_text()}")


def wait_for(proc: subprocess.Popen, log: Path, check, what: str, timeout_s: float = 240):  # noqa: ANN001, ANN201
    """Poll `check()` until it returns something truthy, while the run command lives."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout_s:g} s:\n{log.read_text()}")


def operator_token(env: dict[str, str], username: str = "operator") -> str:
    """An API token of a demo user, made the way docs/platform.md says (`manage.py drf_create_token`)."""
    out = subprocess.run(
        [sys.executable, "manage.py", "drf_create_token", username],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return re.search(r"token (\w+)", out).group(1)


def box_iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union if union > 0 else 0.0


def click_the_demo_target(proc: subprocess.Popen, log: Path, api: str, token: str, var: Path) -> dict:
    """As a newcomer would: open the printed mission, wait for its basemap, click the first drone photo's target
    (the generator's click); the target once it is predicted."""
    mission_id = int(re.search(r"/missions/(\d+)/", log.read_text()).group(1))
    entry = json.loads((var / "demo-mission" / "mission.json").read_text())["drone_images"][0]
    _, images = get_json(f"{api}/drone-images/?mission={mission_id}", token)
    image = next(i for i in images["results"] if i["original_name"] == entry["file"])
    assert image["has_gps"], image

    def basemap_ready() -> dict | None:
        _, basemaps = get_json(f"{api}/basemaps/?mission={mission_id}", token)
        assert all(b["status"] != "failed" for b in basemaps["results"]), basemaps
        return next((b for b in basemaps["results"] if b["ready"]), None)

    basemap = wait_for(proc, log, basemap_ready, "the demo basemap's ingest")
    body = {"drone_image": image["id"], "basemap": basemap["id"], "click_x": entry["click"][0],
            "click_y": entry["click"][1]}  # fmt: skip
    status, target = get_json(f"{api}/targets/", token, body)
    assert status == 201, target

    def finished() -> dict | None:
        _, current = get_json(f"{api}/targets/{target['id']}/", token)
        return current if current["status"] in ("predicted", "failed") else None

    target = wait_for(proc, log, finished, "the demo target's prediction")
    assert target["status"] == "predicted", target["error"]
    iou = box_iou(target["prediction"]["box"], entry["box_px"])
    assert iou > 0.3, (target["prediction"]["box"], entry["box_px"])
    return target


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs. A zombie does not count: it has exited, and only its parent — for
    an orphan, init, which in some containers collects them seconds later — has not read its status yet."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if int(group) == pgid and state != "Z":
            return True
    return False


def survivors(session: int) -> str:
    """The processes left in the run command's session (it leads its own), for the failure message."""
    ps = ["ps", "-o", "pid,ppid,stat,etime,args", "--sid", str(session)]
    return subprocess.run(ps, capture_output=True, text=True).stdout


@pytest.mark.slow
def test_run_command_serves_healthz_with_a_worker_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env = dict(keep, VAR_DIR=str(tmp_path), PORT=str(port), REDIS_URL="redis://127.0.0.1:1/0")
    for attempt, verb in enumerate(("created", "exists")):
        log = tmp_path / f"run-{attempt}.log"
        with log.open("w") as out:
            # A new session, so the Ctrl-C below reaches the command and its children as a terminal's would.
            start = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "deploy/local/run.py"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                body = wait_healthy(proc, f"http://127.0.0.1:{port}/healthz", log)
                print(f"run {attempt}: /healthz 200 after {time.monotonic() - start:.1f} s")
                wait_for(proc, log, lambda log=log: "Ready: " in log.read_text(), "the ready banner with the logins")
                assert "answered" not in body["workers"]  # anonymous: what is up, not the machines
                lost, page = get_text(f"http://127.0.0.1:{port}/no-such-page/")
                assert lost == 404 and "URLconf" not in page  # DEBUG off: no URL patterns for strangers
                styles, _ = get_text(f"http://127.0.0.1:{port}/static/frontend/css/app.css")
                assert styles == 200  # the static files are served with DEBUG off
                status, body = get_json(f"http://127.0.0.1:{port}/healthz", operator_token(env, "admin"))
                if attempt == 0:
                    api, token = f"http://127.0.0.1:{port}/api/v1", operator_token(env)
                    click_the_demo_target(proc, log, api, token, tmp_path)
                    print(f"run {attempt}: a predicted box {time.monotonic() - start:.1f} s after the command began")
            finally:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(timeout=30)
        assert body["database"]["detail"] == "sqlite"
        assert body["broker"]["detail"].startswith("filesystem://")
        assert body["workers"]["answered"] == [f"local@{socket.gethostname()}"]
        text = log.read_text()
        assert f"Demo team 'Demo team' ({verb})" in text and f"Demo mission 1 'Demo mission' ({verb})" in text
        for login in ("operator   smgeo-demo", "reviewer   smgeo-demo", "admin      smgeo-admin"):
            assert login in text and text.count(login) == 2  # as seeded, and again in the ready banner
        assert f"http://127.0.0.1:{port}/missions/1/" in text
        assert ("wrote 1 basemap(s) and 4 drone photo(s)" in text) == (attempt == 0)  # the files are written once
        assert proc.returncode == 0
        time.sleep(1)
        assert not group_alive(proc.pid), f"a process the run command started outlived Ctrl-C:\n{survivors(proc.pid)}"
        with pytest.raises(OSError):
            get_json(f"http://127.0.0.1:{port}/healthz")
    assert (tmp_path / "db.sqlite3").exists()
