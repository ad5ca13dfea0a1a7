"""The production web server for tests and benchmarks: gunicorn with deploy/gunicorn.conf.py and the production
settings, on a free loopback port, against the test database."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    port: int, static_root: Path, media_root: str, log: Path, probe: str, **env_extra: str
) -> subprocess.Popen:
    """gunicorn serving the test database on `port`; returns once `probe` (a path) answers."""
    db = connection.settings_dict
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",  # plain http on loopback (TLS ends at the proxy in production)
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        MEDIA_ROOT=media_root,
        STATIC_ROOT=str(static_root),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_LOG_LEVEL="warning",
        **env_extra,
    )
    command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
               "--access-logfile", str(log.with_suffix(".access")), "config.asgi:application"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=2).read()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()}") from None
            time.sleep(0.5)
    process.terminate()  # the master stops its workers (a killed master would leave them serving)
    process.wait(timeout=30)
    raise RuntimeError(f"gunicorn did not answer: {log.read_text()}")


@contextlib.contextmanager
def serving(folder: Path, **env_extra: str) -> Iterator[tuple[int, int]]:
    """gunicorn with one worker on a free port for the test's duration, static files from folder/static (a probe
    file in it tells when it answers); (port, master pid)."""
    port = free_port()
    (folder / "static").mkdir(exist_ok=True)
    (folder / "static" / "probe.txt").write_text("up")
    process = start_gunicorn(
        port, folder / "static", str(settings.MEDIA_ROOT), folder / "gunicorn.log", probe="/static/probe.txt",
        GUNICORN_WORKERS="1", **env_extra,
    )  # fmt: skip
    try:
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
