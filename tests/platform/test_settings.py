"""Deployment-specific values come from the environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "db": db["ENGINE"], "name": str(db["NAME"]), "broker": settings.CELERY_BROKER_URL,
    "media": str(settings.MEDIA_ROOT), "debug": settings.DEBUG, "hosts": settings.ALLOWED_HOSTS,
    "secret": settings.SECRET_KEY, "options": db.get("OPTIONS", {}),
}))
"""


def settings_with(module: str, **environ: str) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env = dict(keep, DJANGO_SETTINGS_MODULE=module, PYTHONPATH=f"{ROOT}:{ROOT / 'platform'}", **environ)
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True)


def test_local_defaults_are_embedded_sqlite_under_var() -> None:
    shown = json.loads(settings_with("config.settings.local").stdout)
    assert shown["db"] == "django.db.backends.sqlite3"
    assert shown["name"] == str(ROOT / "var" / "db.sqlite3")
    assert shown["debug"] is False  # Django's debug pages only when asked for
    assert json.loads(settings_with("config.settings.local", DEBUG="true").stdout)["debug"] is True
    # the embedded default holds concurrent writes: WAL, a busy timeout, write transactions that queue
    assert shown["options"]["transaction_mode"] == "IMMEDIATE" and shown["options"]["timeout"] >= 5
    assert "journal_mode=WAL" in shown["options"]["init_command"]


def test_every_deployment_value_is_read_from_the_environment() -> None:
    shown = json.loads(
        settings_with(
            "config.settings.local",
            DATABASE_URL="postgres://u:p@db.example:5433/prod",
            REDIS_URL="redis://cache.example:6380/2",
            MEDIA_ROOT="/srv/media",
            SECRET_KEY="s" * 60,
            DEBUG="false",
            ALLOWED_HOSTS="a.example,b.example",
        ).stdout
    )
    assert shown["db"] == "django.db.backends.postgresql" and shown["name"] == "prod"
    assert shown["broker"] == "redis://cache.example:6380/2"
    assert shown["media"] == "/srv/media"
    assert shown["debug"] is False
    assert shown["hosts"] == ["a.example", "b.example"]
    assert shown["secret"] == "s" * 60


def test_production_refuses_to_start_without_a_real_secret_key() -> None:
    result = settings_with("config.settings.production", ALLOWED_HOSTS="a.example")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
