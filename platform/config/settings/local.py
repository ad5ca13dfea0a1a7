"""Settings for one machine (`make run`): embedded defaults; DEBUG off unless asked for (`DEBUG=true make run`):
Django's debug pages would show any visitor the URL patterns, settings and tracebacks."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=False)
# One process: the log-in throttle's counts can stay in memory, and `make run` works without Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
