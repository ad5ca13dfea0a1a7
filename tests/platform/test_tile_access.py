"""A tile served before costs no database query (missions/tile_middleware.py, tile_access.py), and what that memory
may get wrong is bounded: another team still gets 404, a revoked token, a logged-out session or a removed member
loses access at once in this process and within TILE_ACCESS_TTL_S elsewhere, a changed COG is never served for a
URL that names the new one."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.api_tokens import api_token_create, api_token_revoke
from accounts.models import Membership
from missions import tile_access, tile_cache
from missions.models import Basemap
from tests.platform.factories import client_for, team_setup
from tests.platform.imagery_fixtures import ingested, marked_utm_geotiff, upload_basemap

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-123"


@pytest.fixture(autouse=True)
def _fresh_memory(settings, tmp_path) -> None:  # noqa: ANN001
    settings.TILE_CACHE_DIR = str(tmp_path / "cog-cache")
    tile_cache.clear()
    tile_access.clear()
    yield
    tile_cache.clear()
    tile_access.clear()


def _basemap(setup, size: int = 256):  # noqa: ANN001, ANN202
    marked = marked_utm_geotiff(size)
    basemap = ingested(upload_basemap(client_for(setup.operator), setup.mission.id, marked.data).json()["id"])
    tile = marked.tile
    return basemap, f"/tiles/{basemap.id}/{tile.z}/{tile.x}/{tile.y}.png"


def _token_client(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='map').key}")
    return client


def _session_client(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _sql(statement: str, *params: object) -> None:
    """A change made by another process: no signal reaches this one."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_a_repeated_tile_makes_no_query_and_answers_the_same_bytes(django_assert_num_queries) -> None:  # noqa: ANN001
    setup = team_setup()
    _, url = _basemap(setup)
    for client in (_token_client(setup.operator), _session_client(setup.reviewer)):
        first = client.get(url)
        assert first.status_code == 200 and first["Content-Type"] == "image/png"
        with django_assert_num_queries(0):
            again = client.get(url)
            not_modified = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 200 and again.content == first.content
        assert again["ETag"] == first["ETag"] and again["Cache-Control"] == first["Cache-Control"]
        assert again["Content-Length"] == str(len(first.content))
        assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified["ETag"] == first["ETag"]
    assert "Cookie" in again["Vary"]  # the session's answer varies with the cookie, as Django's session says


def test_another_team_still_gets_404_and_anonymous_401_after_the_tile_was_served() -> None:
    setup = team_setup()
    _, url = _basemap(setup)
    assert _token_client(setup.operator).get(url).status_code == 200
    assert _token_client(setup.outsider).get(url).status_code == 404
    assert _session_client(setup.outsider).get(url).status_code == 404
    assert APIClient().get(url).status_code == 401
    assert APIClient().get(url, HTTP_AUTHORIZATION="Token smg_not-a-token").status_code == 401


def test_a_revoked_token_is_refused_at_once_here_and_after_the_ttl_elsewhere(settings) -> None:  # noqa: ANN001
    settings.TILE_ACCESS_TTL_S = 0.5
    setup = team_setup()
    _, url = _basemap(setup)
    client = _token_client(setup.operator)
    assert client.get(url).status_code == 200
    api_token_revoke(user=setup.operator, token_id=setup.operator.api_tokens.get().id)
    assert client.get(url).status_code == 401
    client = _token_client(setup.operator)
    assert client.get(url).status_code == 200
    _sql("DELETE FROM accounts_apitoken WHERE user_id = %s", setup.operator.id)
    time.sleep(0.6)
    assert client.get(url).status_code == 401


def test_a_removed_member_loses_the_tiles_at_once_here_and_after_the_ttl_elsewhere(settings) -> None:  # noqa: ANN001
    settings.TILE_ACCESS_TTL_S = 0.5
    setup = team_setup()
    _, url = _basemap(setup)
    operator, reviewer = _token_client(setup.operator), _session_client(setup.reviewer)
    assert operator.get(url).status_code == 200 and reviewer.get(url).status_code == 200
    Membership.objects.get(user=setup.operator).delete()
    assert operator.get(url).status_code == 404
    _sql("DELETE FROM accounts_membership WHERE user_id = %s", setup.reviewer.id)
    time.sleep(0.6)
    assert reviewer.get(url).status_code == 404


def test_a_logged_out_session_loses_the_tiles() -> None:
    setup = team_setup()
    _, url = _basemap(setup)
    client = _session_client(setup.operator)
    assert client.get(url).status_code == 200
    cookie = client.cookies["sessionid"].value
    client.logout()
    client.cookies["sessionid"] = cookie  # the old cookie, kept by a copy of the browser
    assert client.get(url).status_code in (401, 403)


def test_a_changed_cog_is_served_at_once_for_its_new_url_and_then_for_every_url(settings) -> None:  # noqa: ANN001
    settings.TILE_ACCESS_TTL_S = 0.5
    setup = team_setup()
    basemap, url = _basemap(setup, 256)
    other, _ = _basemap(setup, 320)  # another COG over the same place: it stands in for a re-ingest
    client = _token_client(setup.operator)
    old = client.get(url)
    assert old.status_code == 200
    _sql("UPDATE missions_basemap SET cog_file = %s, cog_sha256 = %s WHERE id = %s",
         other.cog_file.name, other.cog_sha256, basemap.id)  # fmt: skip
    new_url = Basemap.objects.get(pk=basemap.pk)
    new = client.get(f"{url}?v={new_url.cog_sha256[:12]}")
    assert new.status_code == 200 and new["ETag"] != old["ETag"] and other.cog_sha256[:20] in new["ETag"]
    assert new.content != old.content
    assert client.get(url, HTTP_IF_NONE_MATCH=old["ETag"]).status_code == 200  # the old ETag is stale now
