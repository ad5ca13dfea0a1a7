"""A renderer for views that answer with image bytes, so browsers asking for `image/*` are not refused (406)."""

from __future__ import annotations

import json

from rest_framework.renderers import BaseRenderer


class ImageRenderer(BaseRenderer):
    """Passes bytes through; an error body (a dict) is written as JSON, and says so in its Content-Type."""

    media_type = "image/*"
    format = "image"
    charset = None

    def render(
        self, data: object, accepted_media_type: str | None = None, renderer_context: dict | None = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        response = (renderer_context or {}).get("response")
        if response is not None:  # set from media_type just before render(): an error is JSON, not an image
            response["Content-Type"] = "application/json"
        return json.dumps(data).encode()
