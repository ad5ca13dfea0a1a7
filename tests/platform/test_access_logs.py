"""Invitation keys stay out of the access logs: the production server (gunicorn with its uvicorn workers, as
deployed) and Django's development server (`make run`) log `/invite/<key>/`, never the key."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.platform.factories import team_setup
from tests.platform.gunicorn_server import ROOT, free_port, start_gunicorn
from tests.platform.people_fixtures import waiting_invitation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
KEY = "k3y-that-is-a-password-until-used"


def test_the_production_server_logs_an_invitation_path_without_its_key(tmp_path: Path) -> None:
    setup = team_setup()
    waiting_invitation(setup.team, username="newbie", key=KEY)
    port, static = free_port(), tmp_path / "static"
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.production", STATIC_ROOT=str(static),
                 SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="127.0.0.1"), timeout=120,
    )  # fmt: skip
    assert collected.returncode == 0, collected.stderr  # the production pages need the static manifest
    (static / "probe.txt").write_text("up")
    log = tmp_path / "gunicorn.log"
    process = start_gunicorn(
        port, tmp_path / "static", str(settings.MEDIA_ROOT), log, probe="/static/probe.txt", GUNICORN_WORKERS="1"
    )
    try:
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/invite/{KEY}/", timeout=30).read()
        assert b"newbie" in page  # the link works
    finally:
        process.terminate()
        process.wait(timeout=30)
    access = log.with_suffix(".access").read_text()
    assert "/invite/<key>/" in access and "/static/probe.txt" in access  # the request is logged
    assert KEY not in access and KEY not in log.read_text()


def test_the_development_server_and_django_log_the_path_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /invite/{KEY}/ HTTP/1.1", 200, 1234)
    logging.getLogger("django.request").warning("%s: %s", "Not Found", f"/invite/{KEY}/")  # as Django logs a 404
    assert caplog.text.count("/invite/<key>/") == 2 and KEY not in caplog.text
