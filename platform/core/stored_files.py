"""Stored files served to users: a file missing from storage (lost media, a restore without it) is a 404 that names
what is missing, never a 500 or the server's path."""

from __future__ import annotations

import mimetypes

from django.db.models.fields.files import FieldFile
from django.http import FileResponse

from core.errors import NotFound

PRIVATE_DAY = "private, max-age=86400"


def stored_file_response(
    field_file: FieldFile,
    what: str,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    as_attachment: bool = False,
    cache_control: str | None = PRIVATE_DAY,
) -> FileResponse:
    """Stream a stored file through the storage API; 404 "the <what> is missing from storage" when it is gone."""
    if not field_file:
        raise NotFound(f"there is no {what}")
    try:
        handle = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError:
        raise NotFound(f"the {what} is missing from storage; upload it again or ask an administrator") from None
    content_type = content_type or mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type, filename=filename, as_attachment=as_attachment)
    if cache_control:
        response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    return response
