"""Which basemaps' tiles a request may see, remembered per web process, so that a tile the process served before costs
no database query: missions/tile_middleware.py answers it ahead of the session, the authentication and the view.

Only the tile view writes a grant, and only after the API's own authentication (DEFAULT_AUTHENTICATION_CLASSES: the
named API tokens, the old DRF tokens, the session) accepted the request and it found the basemap ready in the user's
teams: (the request's credential, basemap id) -> the user and that Basemap. The credential is a sha256 of the
`Authorization: Token ...` header when there is one (DRF tries the token first and never falls back from a bad
one), else of the session cookie; a request with neither is never granted anything.

How stale a grant can be: TILE_ACCESS_TTL_S (settings, 30 s). A revoked token, a logged-out session, a removed
member, a deactivated user lose access within that time in every process, and at once in the process where the
change was saved (the signals in `connect`). A basemap whose COG changed never answers from its old COG a URL that
names the new one (`?v=<sha>`, as the API's tile_url_template gives it): a `v` the grant does not match is a miss.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model, user_logged_out
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from accounts.models import ApiToken, Membership
from core.ttl_cache import TtlCache
from missions.models import Basemap

MAX_GRANTS = 10_000  # per process; a grant is a Basemap row in memory (a few KB)


@dataclass(frozen=True)
class Grant:
    user_id: int
    basemap: Basemap  # ready, as read when granted; never modified
    by_session: bool  # the answer then varies with the Cookie header, as Django's session middleware says


_grants: TtlCache[tuple[str, int], Grant] = TtlCache(MAX_GRANTS)


def credential_of(request: HttpRequest) -> str | None:
    """'token:<sha256>' or 'session:<sha256>' of what authenticates the request, in DRF's order; None without one."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.split(" ", 1)[0].lower() == TokenAuthentication.keyword.lower():
        return "token:" + hashlib.sha256(header.encode()).hexdigest()
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    return "session:" + hashlib.sha256(session_key.encode()).hexdigest() if session_key else None


def granted(request: HttpRequest, basemap_id: int) -> Grant | None:
    credential = credential_of(request)
    return _grants.get((credential, basemap_id)) if credential else None


def remember(request: Request, basemap: Basemap) -> None:
    """Note that the API's authentication let this request's user see the ready `basemap` (the tile view calls it)."""
    credential = credential_of(request)
    by_session = isinstance(request.successful_authenticator, SessionAuthentication)
    by_token = isinstance(request.successful_authenticator, TokenAuthentication)
    if credential is None or not (by_token if credential.startswith("token:") else by_session):
        return  # authenticated some other way (a test's forced user, another class): nothing to key it by
    grant = Grant(request.user.pk, basemap, by_session)
    _grants.put((credential, basemap.pk), grant, settings.TILE_ACCESS_TTL_S)


def forget_user(user_id: int) -> None:
    _grants.forget(lambda key, grant: grant.user_id == user_id)


def forget_basemap(basemap_id: int) -> None:
    _grants.forget(lambda key, grant: key[1] == basemap_id)


def clear() -> None:
    _grants.clear()


def connect() -> None:
    """Forget grants at once, in this process, when what they rest on changes here (missions/apps.py)."""
    for model in (ApiToken, Token, Membership):
        post_delete.connect(_user_of_row_changed, sender=model, dispatch_uid=f"tile-access-{model.__name__}")
    post_save.connect(_user_of_row_changed, sender=Membership, dispatch_uid="tile-access-membership-saved")
    for signal in (post_save, post_delete):
        signal.connect(_user_changed, sender=get_user_model(), dispatch_uid=f"tile-access-user-{id(signal)}")
        signal.connect(_basemap_changed, sender=Basemap, dispatch_uid=f"tile-access-basemap-{id(signal)}")
    user_logged_out.connect(_user_changed_by_logout, dispatch_uid="tile-access-logout")


def _user_of_row_changed(sender: type, instance: ApiToken | Token | Membership, **kwargs: object) -> None:
    forget_user(instance.user_id)


def _user_changed(sender: type, instance: object, **kwargs: object) -> None:
    forget_user(instance.pk)


def _user_changed_by_logout(sender: type, request: HttpRequest, user: object, **kwargs: object) -> None:
    if user is not None:
        forget_user(user.pk)


def _basemap_changed(sender: type, instance: Basemap, **kwargs: object) -> None:
    forget_basemap(instance.pk)
