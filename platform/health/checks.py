"""The checks behind /healthz: each returns (ok, detail) and never raises."""

from django.conf import settings
from django.db import connection

from config.celery_app import app


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the text tells the operator why
        return False, f"{type(exc).__name__}: {exc}".strip()
    return True, connection.vendor


def check_broker() -> tuple[bool, str]:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return True, conn.as_uri()  # the password, if any, is masked
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}".strip()


def check_workers(timeout_s: float | None = None) -> tuple[bool, list[str]]:
    """Broadcast a ping; the workers that answer within the timeout are up (busy workers answer too)."""
    timeout_s = settings.HEALTHZ_WORKER_TIMEOUT_S if timeout_s is None else timeout_s
    try:
        replies = app.control.ping(timeout=timeout_s)
    except Exception:
        return False, []
    names = sorted(name for reply in replies for name in reply)
    return bool(names), names
