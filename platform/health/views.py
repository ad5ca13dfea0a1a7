import os

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from health.checks import check_broker, check_database, check_workers
from localization.status_listener import LISTENER


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker and worker status: 200 when all are up, 503 naming what is down; and how many long polls
    wait in the web process that answers (a figure, never a reason for 503)."""
    db_ok, db_detail = check_database()
    broker_ok, broker_detail = check_broker()
    workers_ok, workers = check_workers() if broker_ok else (False, [])
    body = {
        "database": {"ok": db_ok, "detail": db_detail},
        "broker": {"ok": broker_ok, "detail": broker_detail},
        "workers": {"ok": workers_ok, "answered": workers},
        "web": {"pid": os.getpid(), "long_polls_waiting": LISTENER.waiting()},
    }
    down = [name for name, ok in (("database", db_ok), ("broker", broker_ok), ("workers", workers_ok)) if not ok]
    body["status"] = "ok" if not down else "down: " + ", ".join(down)
    body["down"] = down
    return JsonResponse(body, status=200 if not down else 503)
