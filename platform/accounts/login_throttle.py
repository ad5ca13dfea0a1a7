"""Log-in throttling: failed log-ins are counted per username and client address in the cache (Redis, shared by
every web process); after LOGIN_FAILURES_ALLOWED of them within LOGIN_FAILURE_WINDOW_S, the log-in forms (/login/
and /admin/login/) answer 429 for that username from that address until the window has passed, whatever password
is sent. The count and the lock use one key per username: its NFKC form, case-folded (`throttle_name`), so a
fullwidth or upper-case spelling of a locked name is locked too. A successful log-in clears the count. The API has
no password endpoint: users make API tokens on their "API tokens" page while logged in (accounts/api_tokens.py).

When the cache cannot be reached, log-ins are not throttled (and the failure is logged): an outage of Redis must
not lock everyone out.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

log = logging.getLogger(__name__)
LOCKED = (
    "Too many failed log-ins for this username from your address. Wait {minutes} minutes, then try again "
    "(or ask an admin to check the account)."
)


def throttle_name(username: str) -> str:
    """The one key a username is counted and locked under: NFKC (as Django's log-in form normalises a username
    before authenticating, so `ｒｅｖ２` logs in as `rev2`), case-folded and stripped."""
    return unicodedata.normalize("NFKC", username).casefold().strip()


def _key(request: HttpRequest, username: str) -> str:
    who = f"{throttle_name(username)}|{request.META.get('REMOTE_ADDR', '')}"
    return "login-failures:" + hashlib.sha256(who.encode()).hexdigest()


def failures(request: HttpRequest, username: str) -> int:
    """Failed log-ins of this username from this address in the current window (0 when the cache is down)."""
    try:
        return int(cache.get(_key(request, username), 0))
    except Exception:  # the cache backend's connection errors have no common base class
        log.warning("login throttle: the cache cannot be reached; log-ins are not throttled", exc_info=True)
        return 0


def record_failure(request: HttpRequest | None, username: str) -> None:
    """Count one failed log-in; the window starts at the first failure."""
    if request is None:
        return
    key = _key(request, username)
    try:
        cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_S)
        cache.incr(key)
    except Exception:
        log.warning("login throttle: the cache cannot be reached; this failure is not counted", exc_info=True)


def clear(request: HttpRequest | None, username: str) -> None:
    if request is None:
        return
    try:
        cache.delete(_key(request, username))
    except Exception:
        log.warning("login throttle: the cache cannot be reached", exc_info=True)


def is_locked(request: HttpRequest, username: str) -> bool:
    return failures(request, username) >= settings.LOGIN_FAILURES_ALLOWED


def login_throttled(view: Callable[..., HttpResponse], template: str | None = None) -> Callable[..., HttpResponse]:
    """Wrap a log-in view: a POST for a locked username and address answers 429 (rendered with `template` and
    `locked` = the message, or as plain text) with Retry-After, without checking the password."""

    @wraps(view)
    def throttled(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method == "POST" and is_locked(request, request.POST.get("username", "")):
            message = LOCKED.format(minutes=max(1, settings.LOGIN_FAILURE_WINDOW_S // 60))
            if template:
                response = render(request, template, {"locked": message}, status=429)
            else:
                response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
            response["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_S)
            return response
        return view(request, *args, **kwargs)

    return throttled


def on_login_failed(sender: object, credentials: dict, request: HttpRequest | None = None, **kwargs: object) -> None:
    """user_login_failed receiver (connected in AccountsConfig.ready)."""
    record_failure(request, str(credentials.get("username", "")))


def on_logged_in(sender: object, request: HttpRequest | None, user: object, **kwargs: object) -> None:
    """user_logged_in receiver: a successful log-in starts the count afresh."""
    clear(request, user.get_username())
