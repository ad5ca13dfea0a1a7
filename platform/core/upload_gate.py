"""Uploads refused before their body is read: a request whose Content-Length is over the upload limit gets 413, and
a model-version upload from someone who is not a team admin anywhere gets 401/403, whatever the endpoint and the
way of signing in. Placed before the CSRF check, which parses a multipart body to find its token: nothing of the
body is read, and nothing lands in the server's temporary folder, before the refusal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.async_middleware import EitherModeMiddleware
from core.errors import DomainError, PermissionDenied, TooLarge

FORM_ROOM = 64 * 1024  # the other form fields beside the file
ADMIN_UPLOADS = ("/api/v1/model-versions/",)  # only team admins may send these bodies


class UploadGateMiddleware(EitherModeMiddleware):
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self._take_mode(get_response)

    def _sync_call(self, request: HttpRequest) -> HttpResponse:
        return refusal_of(request) or self.get_response(request)

    async def _async_call(self, request: HttpRequest) -> HttpResponse:
        if request.method in SENDS_BODY and (too_large(request) or request.path in ADMIN_UPLOADS):
            refusal = await sync_to_async(refusal_of)(request)  # the admin check asks the database
            if refusal is not None:
                return refusal
        return await self.get_response(request)


SENDS_BODY = ("POST", "PUT", "PATCH")


def refusal_of(request: HttpRequest, anonymous: bool = False) -> JsonResponse | None:
    """413 or 403 (401 with `anonymous`) for a request whose body is not worth reading; None to let it through.
    Without `anonymous` a request with no user passes to the view, whose authentication answers it (in the
    middleware stack, where the body is read only as the view asks)."""
    if request.method not in SENDS_BODY:
        return None
    refusal = too_large(request) or not_an_admin(request, anonymous)
    if refusal is not None:
        refusal["Connection"] = "close"  # the unread body is not worth keeping the connection for
        refusal["X-Content-Type-Options"] = "nosniff"
    return refusal


def too_large_message(size: int) -> str:
    return f"the upload is {_human(size)}; the largest file accepted is {_human(settings.MAX_UPLOAD_BYTES)}"


def _human(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.0f} KiB"


def too_large(request: HttpRequest) -> JsonResponse | None:
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if size <= settings.MAX_UPLOAD_BYTES + FORM_ROOM:
        return None
    return _refusal(TooLarge(too_large_message(size), field="file"))


def not_an_admin(request: HttpRequest, anonymous: bool = False) -> JsonResponse | None:
    if request.path not in ADMIN_UPLOADS:
        return None
    from rest_framework.exceptions import AuthenticationFailed

    from accounts.authentication import request_user
    from accounts.models import Membership, Role

    try:
        user = request_user(request)
    except AuthenticationFailed as error:
        return JsonResponse({"detail": str(error.detail), "code": "authentication_failed"}, status=401)
    if not user.is_authenticated:
        refused = {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}
        return JsonResponse(refused, status=401) if anonymous else None
    if not Membership.objects.filter(user=user, role=Role.ADMIN).exists():
        return _refusal(PermissionDenied("only team admins can register model versions"))
    return None


def _refusal(error: DomainError) -> JsonResponse:
    """The API's error shape (core.api.exception_handler) for a domain error."""
    return JsonResponse(error.body(), status=error.status_code)


class UploadGateASGI:
    """The same gate in front of Django's ASGI application, which reads a whole request body into a temporary file
    before any middleware runs: the refusal is sent from the headers alone, the body never read."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["method"] in SENDS_BODY and _worth_a_look(scope):
            refusal = await sync_to_async(refusal_of)(_headers_only_request(scope), anonymous=True)
            if refusal is not None:
                headers = [(key.encode("latin-1"), value.encode("latin-1")) for key, value in refusal.items()]
                await send({"type": "http.response.start", "status": refusal.status_code, "headers": headers})
                await send({"type": "http.response.body", "body": refusal.content})
                return
        await self.app(scope, receive, send)


def _worth_a_look(scope: dict) -> bool:
    if scope.get("path") in ADMIN_UPLOADS:
        return True
    length = dict(scope.get("headers") or []).get(b"content-length", b"0")
    return length.isdigit() and int(length) > settings.MAX_UPLOAD_BYTES + FORM_ROOM


def _headers_only_request(scope: dict) -> HttpRequest:
    """A Django request of the scope's headers with an empty body, its session and user as the middleware would
    set them (from the session cookie)."""
    import io
    from importlib import import_module

    from django.contrib.auth import get_user
    from django.core.handlers.asgi import ASGIRequest
    from django.utils.functional import SimpleLazyObject

    request = ASGIRequest(scope, io.BytesIO())
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    request.user = SimpleLazyObject(lambda: get_user(request))
    return request
