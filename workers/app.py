"""The worker entry point: the platform's Celery app plus every task module of this package."""

from config.celery_app import app
from workers import exports, fine_tune, ingest, localize, ping, sweep  # noqa: F401  (imported to register the tasks)

__all__ = ["app"]
