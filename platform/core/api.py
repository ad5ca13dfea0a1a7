"""What every API view shares: pagination, error format, team scoping."""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError
from core.outages import outage_of


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Errors as {"detail": "...", "code": "..."} (+ "field", + per-field errors for validation)."""
    if isinstance(exc, DomainError):
        return Response(exc.body(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError) and isinstance(response.data, dict):
        errors = response.data
        response.data = {"detail": validation_summary(errors), "code": "invalid", "errors": errors}
    elif response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data["code"] = getattr(response.data["detail"], "code", "error")
    return response


def validation_summary(errors: dict[str, Any]) -> str:
    """One readable line naming each field and its first problem."""
    parts = []
    for field, problems in errors.items():
        first = problems[0] if isinstance(problems, list) and problems else problems
        if isinstance(first, dict):
            first = validation_summary(first)
        parts.append(f"{field}: {first}" if field != "non_field_errors" else str(first))
    return "; ".join(parts)


# Django's own error pages (a URL no route matches, a request refused before any view, an uncaught error) answer the
# API's error shape on /api/ and /tiles/, so every 4xx of the API has a `detail`; the web pages keep Django's HTML.
JSON_PREFIXES = ("/api/", "/tiles/")


def _json_error(request: HttpRequest, status: int, detail: str, code: str) -> JsonResponse | None:
    if not request.path.startswith(JSON_PREFIXES):
        return None
    return JsonResponse({"detail": detail, "code": code}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refused before any view (too many fields or files, a body over its limit)."""
    if isinstance(exception, RequestDataTooBig):
        too_big = "the request's form fields are over the size limit (files go in file fields)"
        return _json_error(request, 413, too_big, "too_large") or defaults.bad_request(request, exception)
    detail = f"the request was refused: {exception}" if str(exception) else "the request was refused"
    return _json_error(request, 400, detail, "bad_request") or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403."""
    detail = str(exception) or "you may not do this"
    return _json_error(request, 403, detail, "permission_denied") or defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: no route matches the path (e.g. /api/v1/missions/abc.1/)."""
    detail = f"no such route: {request.path}"
    return _json_error(request, 404, detail, "not_found") or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an uncaught error (logged with its traceback by Django). An outage of the database or the media
    storage answers 503/507 naming it (core/outages.py), on the API as JSON and on the pages as plain text."""
    outage = outage_of(sys.exc_info()[1])
    if outage is not None:
        response = _json_error(request, outage.status, outage.detail, outage.code) or HttpResponse(
            outage.detail, status=outage.status, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = str(outage.retry_after_s)
        return response
    detail = "the server failed on this request; try again, and tell an admin if it persists"
    return _json_error(request, 500, detail, "server_error") or defaults.server_error(request)
