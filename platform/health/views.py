import os

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import request_user
from health.checks import check_broker, check_database, check_workers
from localization.status_listener import LISTENER


def is_staff(request: HttpRequest) -> bool:
    """A staff user signed in, or sending an API token of theirs (scripts and monitors)."""
    try:
        user = request_user(request)
    except AuthenticationFailed:
        return False
    return bool(user.is_authenticated and user.is_staff)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker and worker status: 200 when all are up, 503 naming what is down; and how many long polls
    wait in the web process that answers (a figure, never a reason for 503). The details (error texts, the workers'
    host names, the web process's id) only to a signed-in staff user: an anonymous caller learns what is down, not
    the machines behind it."""
    db_ok, db_detail = check_database()
    broker_ok, broker_detail = check_broker()
    workers_ok, workers = check_workers() if broker_ok else (False, [])
    body = {
        "database": {"ok": db_ok},
        "broker": {"ok": broker_ok},
        "workers": {"ok": workers_ok, "count": len(workers)},
        "web": {"long_polls_waiting": LISTENER.waiting()},
    }
    if is_staff(request):
        body["database"]["detail"], body["broker"]["detail"] = db_detail, broker_detail
        body["workers"]["answered"], body["web"]["pid"] = workers, os.getpid()
    down = [name for name, ok in (("database", db_ok), ("broker", broker_ok), ("workers", workers_ok)) if not ok]
    body["status"] = "ok" if not down else "down: " + ", ".join(down)
    body["down"] = down
    return JsonResponse(body, status=200 if not down else 503)
