"""A renderer for views that answer with image bytes, so browsers asking for `image/*` are not refused (406)."""

from __future__ import annotations

import json

from rest_framework.renderers import BaseRenderer


class ImageRenderer(BaseRenderer):
    """Passes bytes through; an error body (a dict) is written as JSON."""

    media_type = "image/*"
    format = "image"
    charset = None

    def render(
        self, data: object, accepted_media_type: str | None = None, renderer_context: dict | None = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()
