"""Settings for a developer's machine (`make run`): debug on, embedded defaults."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# One process: the log-in throttle's counts can stay in memory, and `make run` works without Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
