"""The run command on a machine without Redis: embedded SQLite and broker, /healthz 200 with a worker,
Ctrl-C stops everything it started, and running it again is safe."""

import json
import os
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


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def wait_healthy(proc: subprocess.Popen, url: str, log: Path, timeout_s: float = 120) -> dict:
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


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_run_command_serves_healthz_with_a_worker_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env = dict(keep, VAR_DIR=str(tmp_path), PORT=str(port), REDIS_URL="redis://127.0.0.1:1/0")
    for attempt, verb in enumerate(("created", "exists")):
        log = tmp_path / f"run-{attempt}.log"
        with log.open("w") as out:
            # A new session, so the Ctrl-C below reaches the command and its children as a terminal's would.
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
            finally:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(timeout=30)
        assert body["database"]["detail"] == "sqlite"
        assert body["broker"]["detail"].startswith("filesystem://")
        assert body["workers"]["answered"] == [f"local@{socket.gethostname()}"]
        assert f"Demo admin ({verb}): username 'admin', password 'smgeo-admin'" in log.read_text()
        assert proc.returncode == 0
        time.sleep(1)
        assert not group_alive(proc.pid), "a process the run command started outlived Ctrl-C"
        with pytest.raises(OSError):
            get_json(f"http://127.0.0.1:{port}/healthz")
    assert (tmp_path / "db.sqlite3").exists()
