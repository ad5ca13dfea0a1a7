"""Content-Security-Policy on every response (Django's SecurityMiddleware and XFrameOptionsMiddleware add nosniff,
Referrer-Policy, Cross-Origin-Opener-Policy and X-Frame-Options).

The pages load every script, style, image and font from this host and run no inline script, so the policy allows
only 'self'; inline styles stay allowed because Leaflet positions tiles, markers and boxes with style attributes.
The API docs (Swagger UI, /api/docs/) are served from the app's static files too (drf-spectacular-sidecar).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from core.async_middleware import ResponseMiddleware

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",  # Leaflet's style attributes
    "img-src": "'self' data:",  # the pages' `data:,` favicon
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PAGES_POLICY = "; ".join(f"{directive} {sources}" for directive, sources in POLICY.items())


class ContentSecurityPolicyMiddleware(ResponseMiddleware):
    """Adds the policy to each response that has none."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = PAGES_POLICY
        return response
