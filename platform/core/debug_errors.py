"""With DEBUG on (`make run`), Django answers errors with its technical pages: every URL pattern for a path no route
matches, settings, environment and traceback for an uncaught error. Under /api/ and /tiles/ this middleware answers
the API's JSON error shape instead, as the handlers in core/api.py do with DEBUG off; the web pages keep Django's
debugging pages. The traceback still goes to the log."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse

from core import api
from core.async_middleware import ResponseMiddleware

log = logging.getLogger("django.request")


class JsonErrorsUnderDebugMiddleware(ResponseMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if self._applies(request) and response.status_code >= 400 and _is_html(response):
            # a technical page from outside a view (no route matched, a middleware failed)
            if response.status_code == 404:
                return api.page_not_found(request, Http404())
            if response.status_code < 500:
                return api.bad_request(request, BadRequest(response.reason_phrase))
            return api.server_error(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """An exception a view let out: the handler's JSON answer instead of the technical page."""
        if not self._applies(request):
            return None
        if isinstance(exception, Http404):
            return api.page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return api.permission_denied(request, exception)
        if isinstance(exception, SuspiciousOperation | BadRequest):
            return api.bad_request(request, exception)
        log.error("Internal Server Error: %s", request.path, exc_info=exception)
        return api.server_error(request)  # sys.exc_info() is this exception: an outage is still named

    @staticmethod
    def _applies(request: HttpRequest) -> bool:
        return settings.DEBUG and request.path.startswith(api.JSON_PREFIXES)


def _is_html(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("text/html")
