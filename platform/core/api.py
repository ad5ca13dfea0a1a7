"""What every API view shares: pagination, error format, team scoping."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Errors as {"detail": "...", "code": "..."} (+ "field", + per-field errors for validation)."""
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "code": exc.code, **exc.extra}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
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
