"""Log-in throttling: failed log-ins are counted per username and client address in the cache (Redis, shared by
every web process); after LOGIN_FAILURES_ALLOWED of them within LOGIN_FAILURE_WINDOW_S, the log-in forms (/login/
and /admin/login/) answer 429 for that username from that address until the window has passed, whatever password
is sent. Failures are also counted per address whatever the username: after LOGIN_ADDRESS_FAILURES_ALLOWED of them
in the window the address gets 429 for every username (password spraying: one wrong password for many names); a
successful log-in does not clear that count. The count and the lock use one key per username: its NFKC form,
case-folded (`throttle_name`), so a fullwidth or upper-case spelling of a locked name is locked too. A successful
log-in clears the username's count. The API has no password endpoint: users make API tokens on their "API tokens"
page while logged in (accounts/api_tokens.py).

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
ADDRESS_LOCKED = (
    "Too many failed log-ins from your address, for several usernames. Wait {minutes} minutes, then try again."
)


def throttle_name(username: str) -> str:
    """The one key a username is counted and locked under: NFKC (as Django's log-in form normalises a username
    before authenticating, so `ｒｅｖ２` logs in as `rev2`), case-folded and stripped."""
    return unicodedata.normalize("NFKC", username).casefold().strip()


def _key(request: HttpRequest, username: str | None) -> str:
    """The count of a username from the request's address; username None: of the address, any username."""
    name = "*any*" if username is None else throttle_name(username)
    who = f"{name}|{request.META.get('REMOTE_ADDR', '')}"
    return ("login-failures:" if username is not None else "login-failures-address:") + hashlib.sha256(
        who.encode()
    ).hexdigest()


def failures(request: HttpRequest, username: str | None) -> int:
    """Failed log-ins of this username (None: of any username) from this address in the current window (0 when the
    cache is down)."""
    try:
        return int(cache.get(_key(request, username), 0))
    except Exception:  # the cache backend's connection errors have no common base class
        log.warning("login throttle: the cache cannot be reached; log-ins are not throttled", exc_info=True)
        return 0


def record_failure(request: HttpRequest | None, username: str) -> None:
    """Count one failed log-in, for the username and for the address; the window starts at the first failure."""
    if request is None:
        return
    try:
        for key in (_key(request, username), _key(request, None)):
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


def lock_message(request: HttpRequest, username: str) -> str | None:
    """Why a log-in from this request is refused now (None: it is not)."""
    minutes = max(1, settings.LOGIN_FAILURE_WINDOW_S // 60)
    if failures(request, None) >= settings.LOGIN_ADDRESS_FAILURES_ALLOWED:
        return ADDRESS_LOCKED.format(minutes=minutes)
    if failures(request, username) >= settings.LOGIN_FAILURES_ALLOWED:
        return LOCKED.format(minutes=minutes)
    return None


def login_throttled(view: Callable[..., HttpResponse], template: str | None = None) -> Callable[..., HttpResponse]:
    """Wrap a log-in view: a POST for a locked username and address answers 429 (rendered with `template` and
    `locked` = the message, or as plain text) with Retry-After, without checking the password."""

    @wraps(view)
    def throttled(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        message = lock_message(request, request.POST.get("username", "")) if request.method == "POST" else None
        if message:
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
