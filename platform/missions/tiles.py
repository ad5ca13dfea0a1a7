"""GET /tiles/<basemap_id>/<z>/<x>/<y>.png: Web-Mercator XYZ tiles of a ready basemap, rendered from its COG.

Scoped like the API (session or token auth; another team's basemap is 404). Tiles are immutable for a given COG:
the ETag is the COG's sha256 + z/x/y, the URL template carries `?v=<sha>`, and responses may be cached privately
for a year. A tile that holds no pixel of the basemap answers 204 with no body.

A tile this process answered before is answered again without a database query or a rendering: the view grants the
request's credential the basemap (missions/tile_access.py), the rendered PNG stays in memory (tile_cache.py), and
missions/tile_middleware.py answers from both with `answer_without_rendering`, as this view would.
"""

from __future__ import annotations

import morecantile
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import path, reverse
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from core.errors import NotFound
from core.models import JobStatus
from missions import tile_access
from missions.models import Basemap
from missions.renderers import ImageRenderer
from missions.selectors import basemaps_for
from missions.tile_cache import rendered_png, tile_png

CACHE_CONTROL = "private, max-age=31536000, immutable"
MAX_ZOOM = 30
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


def tile_url_template(basemap: Basemap) -> str | None:
    """'/tiles/<id>/{z}/{x}/{y}.png?v=<sha>' for Leaflet, or None while the basemap is not ready."""
    if basemap.status != JobStatus.SUCCEEDED or not basemap.cog_sha256:
        return None
    url = reverse("basemap-tile", kwargs={"basemap_id": basemap.pk, "z": 0, "x": 0, "y": 0})
    return url.removesuffix("0/0/0.png") + f"{{z}}/{{x}}/{{y}}.png?v={basemap.cog_sha256[:12]}"


def tile_etag(basemap: Basemap, z: int, x: int, y: int) -> str:
    return f'"{basemap.cog_sha256[:20]}-{z}-{x}-{y}"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as If-None-Match asks for."""
    tags = {tag.removeprefix("W/") for tag in parse_etags(if_none_match)} if if_none_match else set()
    return "*" in tags or etag in tags


def tile_intersects(bounds: list[float], z: int, x: int, y: int) -> bool:
    """Whether tile z/x/y overlaps the lon/lat box [west, south, east, north] by more than an edge."""
    tile = WEB_MERCATOR.bounds(morecantile.Tile(x, y, z))
    west, south, east, north = bounds
    return tile.left < east and tile.right > west and tile.bottom < north and tile.top > south


def tile_exists(z: int, x: int, y: int) -> bool:
    return z <= MAX_ZOOM and x < 2**z and y < 2**z


def answer_without_rendering(basemap: Basemap, z: int, x: int, y: int, if_none_match: str) -> HttpResponse | None:
    """The answer when it needs no rendering: 304 for the ETag the client holds, 204 for a tile outside the basemap,
    or a PNG this process rendered before; None otherwise."""
    etag = tile_etag(basemap, z, x, y)
    if etag_matches(if_none_match, etag):
        return _cacheable(HttpResponseNotModified(), etag)
    if not tile_intersects(basemap.bounds, z, x, y):
        return _cacheable(HttpResponse(status=204), etag)
    found, png = rendered_png(basemap, z, x, y)
    return _cacheable(_png_response(png), etag) if found else None


def ready_basemap(request: Request, basemap_id: int) -> Basemap:
    """The user's basemap when its COG is ready; 404 naming why not."""
    basemap = basemaps_for(request.user).filter(pk=basemap_id).first()
    if basemap is None:
        raise NotFound(f"no such basemap: {basemap_id}")
    if basemap.status == JobStatus.FAILED:
        raise NotFound(f"basemap {basemap_id} has no tiles: its ingest failed ({basemap.error})")
    if basemap.status != JobStatus.SUCCEEDED:
        raise NotFound(f"basemap {basemap_id} is not ready yet (ingest {basemap.status}, {basemap.progress:.0%})")
    return basemap


class TileView(APIView):
    renderer_classes = [JSONRenderer, ImageRenderer]

    @extend_schema(
        summary="A Web-Mercator XYZ tile of a basemap (PNG, 256 px)",
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False)],
        responses={
            (200, "image/png"): OpenApiTypes.BINARY,
            204: OpenApiResponse(description="the tile holds no pixel of the basemap"),
            304: OpenApiResponse(description="unchanged since the ETag in If-None-Match"),
            404: OpenApiResponse(description="no such basemap (or another team's), not ready, or no such tile"),
        },
    )
    def get(self, request: Request, basemap_id: int, z: int, x: int, y: int) -> HttpResponse:
        basemap = ready_basemap(request, basemap_id)
        if not tile_exists(z, x, y):
            raise NotFound(f"tile {z}/{x}/{y} does not exist (x and y must be below 2^z, z at most {MAX_ZOOM})")
        tile_access.remember(request, basemap)
        answer = answer_without_rendering(basemap, z, x, y, request.headers.get("If-None-Match", ""))
        return answer or _cacheable(_png_response(tile_png(basemap, z, x, y)), tile_etag(basemap, z, x, y))


def _png_response(png: bytes | None) -> HttpResponse:
    return HttpResponse(png, content_type="image/png") if png else HttpResponse(status=204)


def _cacheable(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["Content-Length"] = str(len(response.content))
    return response


urlpatterns = [path("<int:basemap_id>/<int:z>/<int:x>/<int:y>.png", TileView.as_view(), name="basemap-tile")]
