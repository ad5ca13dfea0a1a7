"""Tiles: Web-Mercator XYZ PNGs rendered from a basemap's COG, with caching headers and the API's scoping."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from missions import tile_cache
from missions.models import Basemap
from tests.platform.factories import client_for, team_setup
from tests.platform.imagery_fixtures import (
    MARKER_ZOOM,
    UTM33,
    WEB_MERCATOR,
    bright_centroid,
    geotiff_bytes,
    ingested,
    marked_utm_geotiff,
    upload_basemap,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_tile_cache(settings, tmp_path) -> None:  # noqa: ANN001
    """Each test copies COGs into its own cache folder and opens its own Readers."""
    settings.TILE_CACHE_DIR = str(tmp_path / "cog-cache")
    tile_cache.clear()
    yield
    tile_cache.clear()


def _ready_utm_basemap(setup, size: int = 512):  # noqa: ANN001, ANN202
    marked = marked_utm_geotiff(size)
    response = upload_basemap(client_for(setup.operator), setup.mission.id, marked.data)
    return ingested(response.json()["id"]), marked


def _tile_url(basemap: Basemap, z: int, x: int, y: int) -> str:
    return f"/tiles/{basemap.id}/{z}/{x}/{y}.png"


def test_a_utm_basemap_tile_shows_the_marker_at_its_web_mercator_pixel() -> None:
    setup = team_setup()
    basemap, marked = _ready_utm_basemap(setup)
    response = client_for(setup.operator).get(_tile_url(basemap, MARKER_ZOOM, marked.tile.x, marked.tile.y))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    png = response.content
    assert Image.open(io.BytesIO(png)).size == (256, 256)
    column, row = bright_centroid(png)
    assert column == pytest.approx(marked.tile_pixel[0], abs=2.0)
    assert row == pytest.approx(marked.tile_pixel[1], abs=2.0)
    # one zoom level up, the same point lands at half the tile coordinates plus the quadrant offset
    parent = WEB_MERCATOR.parent(marked.tile)[0]
    up = client_for(setup.operator).get(_tile_url(basemap, MARKER_ZOOM - 1, parent.x, parent.y))
    expected = [
        (p + 256 * offset) / 2
        for p, offset in zip(marked.tile_pixel, (marked.tile.x % 2, marked.tile.y % 2), strict=True)
    ]
    assert bright_centroid(up.content, threshold=120) == pytest.approx(expected, abs=2.0)


def test_tiles_carry_an_etag_and_long_private_caching_and_answer_304_when_unchanged() -> None:
    setup = team_setup()
    basemap, marked = _ready_utm_basemap(setup, 256)
    client = client_for(setup.operator)
    url = _tile_url(basemap, MARKER_ZOOM, marked.tile.x, marked.tile.y)
    first = client.get(url)
    etag = first["ETag"]
    assert basemap.cog_sha256[:20] in etag and f"-{MARKER_ZOOM}-{marked.tile.x}-{marked.tile.y}" in etag
    assert first["Cache-Control"].startswith("private") and "max-age=31536000" in first["Cache-Control"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"stale"').status_code == 200
    neighbour = client.get(_tile_url(basemap, MARKER_ZOOM, marked.tile.x + 1, marked.tile.y))
    assert neighbour["ETag"] != etag


def test_tiles_outside_the_basemap_are_empty_204() -> None:
    setup = team_setup()
    basemap, marked = _ready_utm_basemap(setup, 256)
    client = client_for(setup.operator)
    far = client.get(_tile_url(basemap, MARKER_ZOOM, marked.tile.x + 40, marked.tile.y))
    assert far.status_code == 204 and far.content == b"" and far["ETag"]
    assert client.get(_tile_url(basemap, 3, 0, 0)).status_code == 204  # the other side of the world
    assert client.get(_tile_url(basemap, 4, 99, 0)).status_code == 404  # not a tile at all


def test_tiles_are_scoped_like_the_api() -> None:
    setup = team_setup()
    basemap, marked = _ready_utm_basemap(setup, 256)
    url = _tile_url(basemap, MARKER_ZOOM, marked.tile.x, marked.tile.y)
    assert client_for(setup.outsider).get(url).status_code == 404
    assert APIClient().get(url).status_code in (401, 403)
    token = Token.objects.create(user=setup.reviewer)
    assert APIClient().get(url, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    session = APIClient()
    assert session.login(username=setup.operator.username, password="pw-for-tests-123")
    assert session.get(url).status_code == 200


def test_a_basemap_not_ready_has_no_tiles_and_says_so() -> None:
    setup = team_setup()
    response = upload_basemap(client_for(setup.operator), setup.mission.id, marked_utm_geotiff(256).data)
    tile = client_for(setup.operator).get(f"/tiles/{response.json()['id']}/0/0/0.png")
    assert tile.status_code == 404 and "not ready yet" in tile.json()["detail"]


def test_the_tile_url_template_of_the_api_serves_tiles_of_a_png_basemap() -> None:
    setup = team_setup()
    red = np.zeros((200, 300, 3), np.uint8)
    red[..., 0] = 230
    buffer = io.BytesIO()
    Image.fromarray(red).save(buffer, "PNG")
    client = client_for(setup.operator)
    created = upload_basemap(
        client, setup.mission.id, buffer.getvalue(), filename="red.png", bounds="10,50,10.01,50.01"
    )
    basemap = ingested(created.json()["id"])
    template = client.get(f"/api/v1/basemaps/{basemap.id}/").json()["tile_url_template"]
    tile = WEB_MERCATOR.tile(10.005, 50.005, 15)
    response = client.get(template.format(z=15, x=tile.x, y=tile.y))
    assert response.status_code == 200
    pixel = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGBA"))[128, 128]
    assert pixel[0] == pytest.approx(230, abs=2) and pixel[1] < 5 and pixel[3] == 255


def test_a_16_bit_basemap_is_stretched_to_visible_8_bit_tiles() -> None:
    setup = team_setup()
    marked = marked_utm_geotiff(256)
    dark = np.full((3, 256, 256), 300, np.uint16)
    dark[:, 100:156, 100:156] = 2500
    data = geotiff_bytes(dark, UTM33, marked.transform)
    basemap = ingested(upload_basemap(client_for(setup.operator), setup.mission.id, data).json()["id"])
    assert basemap.render_range and basemap.render_range[0][1] <= 2500
    tile = WEB_MERCATOR.tile(*_centre(basemap), MARKER_ZOOM)
    response = client_for(setup.operator).get(_tile_url(basemap, MARKER_ZOOM, tile.x, tile.y))
    rgba = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGBA"))
    assert rgba[..., 0].max() >= 250  # the bright square is white, not 2500/65535 of white


def _centre(basemap: Basemap) -> tuple[float, float]:
    west, south, east, north = basemap.bounds
    return (west + east) / 2, (south + north) / 2


def test_readers_are_cached_per_process() -> None:
    setup = team_setup()
    basemap, marked = _ready_utm_basemap(setup, 256)
    client = client_for(setup.operator)
    client.get(_tile_url(basemap, MARKER_ZOOM, marked.tile.x, marked.tile.y))
    first = tile_cache.open_cog(basemap)
    client.get(_tile_url(basemap, MARKER_ZOOM - 1, marked.tile.x // 2, marked.tile.y // 2))
    assert tile_cache.open_cog(basemap) is first


def test_a_reader_opened_by_one_thread_closes_from_another() -> None:
    """The web server's threads open Readers; the LRU eviction and clear() may close them from any thread."""
    import threading

    setup = team_setup()
    basemap, marked = _ready_utm_basemap(setup, 256)
    opened = []
    opener = threading.Thread(target=lambda: opened.append(tile_cache.open_cog(basemap)))
    opener.start()
    opener.join()
    tile_cache.clear()
    assert opened[0].reader.dataset.closed
    response = client_for(setup.operator).get(_tile_url(basemap, MARKER_ZOOM, marked.tile.x, marked.tile.y))
    assert response.status_code == 200  # reopened on the next tile


def test_a_tile_is_rendered_once_per_process_and_served_from_memory_after(monkeypatch) -> None:  # noqa: ANN001
    setup = team_setup()
    basemap, marked = _ready_utm_basemap(setup, 256)
    renders = []
    real_render = tile_cache.render_tile
    monkeypatch.setattr(tile_cache, "render_tile", lambda *args: renders.append(args) or real_render(*args))
    client = client_for(setup.operator)
    url = _tile_url(basemap, MARKER_ZOOM, marked.tile.x, marked.tile.y)
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert len(renders) == 1
    tile_cache.clear()
    assert client.get(url).content == first.content and len(renders) == 2
