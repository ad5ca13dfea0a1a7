"""Settings for the test suite: PostgreSQL and Redis from the environment (the test command sets both)."""

import tempfile
import uuid

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=tempfile.mkdtemp(prefix="smgeo-test-media-"))
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/smgeo")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # the embedded default's run (-m both_backends)
    DATABASES["default"]["OPTIONS"] = dict(SQLITE_OPTIONS)  # noqa: F405
    # a file, not memory: the live server's threads and the worker process share it
    DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}
# Real Redis, under keys of this test process only (they expire with the throttle's window).
CACHES["default"]["KEY_PREFIX"] = f"smgeo-test-{uuid.uuid4().hex[:12]}"  # noqa: F405
# The whole suite signs in from 127.0.0.1: the per-address budget is set where a test measures it.
LOGIN_ADDRESS_FAILURES_ALLOWED = 200
