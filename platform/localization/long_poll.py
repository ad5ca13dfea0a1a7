"""The target detail's long poll (`GET /api/v1/targets/<id>/?changed_from=queued&wait=20`) as an async view.

The DRF view answers the request as usual (authentication, team scope, validation, the body); when the target is
still in the status the client knows, this wrapper waits for the change as a suspended coroutine (status_listener:
PostgreSQL notifications, or a re-read every `POLL_EVERY_S` where those cannot arrive) and then answers with the DRF
view again. Under an ASGI server (deploy/gunicorn.conf.py) a waiting poll holds no request thread and no database
connection, so long polls cannot starve the site; under WSGI (`runserver`) it works the same, one thread a request.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern

from localization.models import Target
from localization.selectors import SETTLE_S, TRANSIENT_STATUSES
from localization.status_listener import LISTENER, TooManyWaits, Waiter, per_user_limit

POLL_EVERY_S = 0.1  # re-read period where notifications cannot arrive (SQLite, or inside a test's transaction)
RECHECK_S = 5.0  # with notifications, a re-read this often all the same: a lost notification delays, never hangs


def with_long_poll(view: Callable[..., HttpResponse]) -> Callable[..., Awaitable[HttpResponse]]:
    """The DRF view `view` (the target detail route), served as an async view that waits without a thread."""
    sync_view = sync_to_async(view)

    async def long_polled(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = await sync_view(request, *args, **kwargs)
        known = request.GET.get("changed_from")
        if request.method != "GET" or not known or response.status_code != 200:
            return response
        wait_s = float(request.GET.get("wait") or 0)  # the view has validated it
        if not wait_s or response.data["status"] != known:
            return response
        user_id = response.renderer_context["request"].user.pk
        try:
            await wait_for_change(target_id=response.data["id"], user_id=user_id, known=known, timeout_s=wait_s)
        except TooManyWaits as refused:
            body = {"detail": str(refused), "code": "too_many_long_polls"}
            return JsonResponse(body, status=429, headers={"Retry-After": "1"})
        return await sync_view(request, *args, **kwargs)

    return functools.wraps(view)(long_polled)


async def wait_for_change(*, target_id: int, user_id: int, known: str, timeout_s: float) -> str | None:
    """Wait until the target's status differs from `known` (or `timeout_s` passes); the status then. A change to a
    transient status (queued, running) is held up to SETTLE_S for the next one, so a quick job answers once, with
    its result. TooManyWaits when the user already has LONG_POLLS_PER_USER waits open in this process."""
    notified = await sync_to_async(_notifications_arrive)()
    waiter = Waiter(target_id=target_id, user_id=user_id, loop=asyncio.get_running_loop())
    LISTENER.add(waiter, limit=per_user_limit(), listen=notified)
    deadline = time.monotonic() + timeout_s
    try:
        status = await _next_status(waiter, known, deadline, notified)
        if status != known and status in TRANSIENT_STATUSES:
            status = await _next_status(waiter, status, min(deadline, time.monotonic() + SETTLE_S), notified)
        return status
    finally:
        LISTENER.remove(waiter)


async def _next_status(waiter: Waiter, known: str, deadline: float, notified: bool) -> str | None:
    read = sync_to_async(_read_status)
    status = await read(waiter.target_id, notified)  # after registering: a change from now on is not missed
    every_s = RECHECK_S if notified else POLL_EVERY_S
    while status == known and (remaining := deadline - time.monotonic()) > 0:
        try:
            delivered = await asyncio.wait_for(waiter.changes.get(), timeout=min(remaining, every_s))
        except TimeoutError:
            if notified and remaining <= every_s:  # the wait is over and PostgreSQL told of no change: no re-read
                break
            delivered = None
        status = delivered if delivered is not None else await read(waiter.target_id, notified)
    return status


def _notifications_arrive() -> bool:
    """PostgreSQL delivers a NOTIFY when its sender commits: never to a request inside a transaction (tests)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _read_status(target_id: int, notified: bool) -> str | None:
    status = Target.objects.filter(id=target_id).values_list("status", flat=True).first()
    if notified:
        connection.close()  # a waiting poll holds no connection: 100 waits must not take 100 of the server's
    return status


def with_long_polls(urls: list) -> list:
    """The router's URL patterns with the target detail route (and its format-suffixed twin) served by
    `with_long_poll`."""
    return [
        URLPattern(url.pattern, with_long_poll(url.callback), url.default_args, url.name)
        if isinstance(url, URLPattern) and url.name == "target-detail"
        else url
        for url in urls
    ]
