"""Failures of what the platform stands on — the database, the media storage — as answers a person can act on.

Django's handler500 (`core.api.server_error`) asks `outage_of` about the exception that ended the request, wherever
it was raised (a view, a middleware, the session save): an outage answers 503 (507 for a full storage) naming what
is down, with `Retry-After`, instead of a bare 500. Nothing half-done stays behind: a request's database writes are
one transaction, and the upload services remove any file they wrote when the request fails.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError

STORAGE_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
STORAGE_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


@dataclass(frozen=True)
class Outage:
    status: int
    code: str
    detail: str
    retry_after_s: int


DATABASE_DOWN = Outage(
    503,
    "database_unavailable",
    "the database is not answering; the request was not completed, try again in a few seconds",
    5,
)
STORAGE_IS_FULL = Outage(
    507,
    "storage_full",
    "the media storage is full; nothing was stored. An admin must free space before uploads work again",
    60,
)
STORAGE_READ_ONLY = Outage(
    503,
    "storage_not_writable",
    "the media storage cannot be written (read-only or no permission); nothing was stored. Tell an admin",
    60,
)


def outage_of(exc: BaseException | None) -> Outage | None:
    """The outage behind `exc` (or behind the exception it was raised from), or None for an ordinary error."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, (OperationalError, InterfaceError)):  # connection refused, lost, or shut down
            return DATABASE_DOWN
        if isinstance(exc, OSError) and exc.errno in STORAGE_FULL:
            return STORAGE_IS_FULL
        if isinstance(exc, OSError) and exc.errno in STORAGE_NOT_WRITABLE:
            return STORAGE_READ_ONLY
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None
