"""With DEBUG on (`make run`), the API's and the tiles' errors are still JSON with a `detail`: no list of every URL
pattern for an unknown route, no settings, environment or traceback for an uncaught error. The pages keep Django's
debugging pages."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.platform.factories import client_for, team_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug(settings):  # noqa: ANN001, ANN201
    settings.DEBUG = True
    return settings


@pytest.mark.parametrize("path", ["/api/v1/no-such-route/", "/api/v1/missions/abc.1/", "/tiles/nothing/here"])
def test_an_unknown_route_under_the_api_is_json_even_with_debug_on(debug, path: str) -> None:  # noqa: ANN001
    response = client_for(team_setup().operator).get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found" and response.json()["detail"]
    assert b"URLconf" not in response.content and b"urlpatterns" not in response.content


def test_an_uncaught_error_in_an_api_view_is_json_without_settings_or_traceback(debug, monkeypatch, caplog) -> None:  # noqa: ANN001
    from accounts import api

    def broken(user: object) -> None:
        raise RuntimeError("a bug in a selector")

    monkeypatch.setattr(api, "teams_for", broken)
    response = client_for(team_setup().operator).get("/api/v1/me/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error" and "try again" in response.json()["detail"]
    assert b"SECRET_KEY" not in response.content and b"Traceback" not in response.content
    assert "a bug in a selector" in caplog.text  # the traceback is logged for the developer


def test_the_pages_keep_djangos_debug_page(debug) -> None:  # noqa: ANN001
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert b"URLconf" in response.content  # Django's technical 404, for the developer
