"""Content-Security-Policy on every response (Django's SecurityMiddleware and XFrameOptionsMiddleware add nosniff,
Referrer-Policy, Cross-Origin-Opener-Policy and X-Frame-Options).

The pages load every script, style, image and font from this host and run no inline script, so the policy allows
only 'self'; inline styles stay allowed because Leaflet positions tiles, markers and boxes with style attributes.
The API docs (Swagger UI, /api/docs/) load their bundle from the jsDelivr CDN, so only they may also use it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from core.async_middleware import ResponseMiddleware

SWAGGER_CDN = "https://cdn.jsdelivr.net"
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
API_DOCS_PREFIX = "/api/docs/"


def policy_text(extra_source: str = "") -> str:
    """The policy as a header value; `extra_source` is added to the script, style and image sources."""
    parts = []
    for directive, sources in POLICY.items():
        if extra_source and directive in ("script-src", "style-src", "img-src"):
            sources = f"{sources} {extra_source}"
        parts.append(f"{directive} {sources}")
    return "; ".join(parts)


PAGES_POLICY = policy_text()
API_DOCS_POLICY = policy_text(SWAGGER_CDN)


class ContentSecurityPolicyMiddleware(ResponseMiddleware):
    """Adds the policy to each response that has none."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if "Content-Security-Policy" not in response:
            docs = request.path.startswith(API_DOCS_PREFIX)
            response["Content-Security-Policy"] = API_DOCS_POLICY if docs else PAGES_POLICY
        return response
