"""Secrets kept out of the access logs: an invitation link's key is a password until it is used, and the servers
log every request's path (`/invite/<key>/`). A filter on the access loggers of every server the platform runs under
(gunicorn and uvicorn in production, Django's development server in `make run`) writes `/invite/<key>/` instead."""

from __future__ import annotations

import logging
import re

SECRET_PATHS = re.compile(r"(/invite/)(?!%)[^/\s?\"']+")  # a %s placeholder is the format's, not a key
ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access", "django.server", "django.request")


def scrubbed(value: object) -> object:
    return SECRET_PATHS.sub(r"\1<key>", value) if isinstance(value, str) else value


class ScrubSecretPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrubbed(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrubbed(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: scrubbed(value) for key, value in record.args.items()}
        return True


def install() -> None:
    """Add the filter to every access logger (once)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubSecretPaths) for f in logger.filters):
            logger.addFilter(ScrubSecretPaths())
