"""Answers a tile request this process has answered before straight from memory, as whitenoise answers a static
file: no session, no authentication query, no view, no database. A cached tile then costs about what a static file
costs (docs/reliability.md, Load).

It answers only from what the tile view already decided for the same credential (missions/tile_access.py) and from
PNGs this process rendered (tile_cache.py), with the view's own `answer_without_rendering`; anything else (a new
credential, another basemap, a tile not rendered yet, a `?v=` the grant does not match) goes on to the view.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers

from core.async_middleware import EitherModeMiddleware
from missions import tile_access
from missions.tiles import answer_without_rendering, tile_exists

TILE_PREFIX = "/tiles/"


class CachedTileMiddleware(EitherModeMiddleware):
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self._take_mode(get_response)

    def _sync_call(self, request: HttpRequest) -> HttpResponse:
        return cached_tile(request) or self.get_response(request)

    async def _async_call(self, request: HttpRequest) -> HttpResponse:
        return cached_tile(request) or await self.get_response(request)


def cached_tile(request: HttpRequest) -> HttpResponse | None:
    """The tile view's answer from this process's memory, or None to let the view answer."""
    if request.method != "GET" or not request.path_info.startswith(TILE_PREFIX):
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.url_name != "basemap-tile":
        return None
    grant = tile_access.granted(request, match.kwargs["basemap_id"])
    z, x, y = match.kwargs["z"], match.kwargs["x"], match.kwargs["y"]
    if grant is None or not tile_exists(z, x, y):
        return None
    if not grant.basemap.cog_sha256.startswith(request.GET.get("v", "")):
        return None  # the page knows a newer COG than this grant: the view reads the basemap again
    request.get_host()  # the Host check CommonMiddleware would make (DisallowedHost: 400)
    response = answer_without_rendering(grant.basemap, z, x, y, request.headers.get("If-None-Match", ""))
    if response is not None and grant.by_session:
        patch_vary_headers(response, ("Cookie",))
    return response
