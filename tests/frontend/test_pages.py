"""The pages: who may open them, that they load only local files (the product works offline), and the mission
list and creation in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from missions.models import Mission
from tests.frontend.conftest import log_in, screenshot
from tests.platform.factories import make_mission, team_setup

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/console/", "/missions/{mission}/", "/missions/{mission}/review/"])
def test_pages_ask_anonymous_people_to_log_in_and_hide_other_teams_missions(path: str) -> None:
    setup = team_setup()
    url = path.format(mission=setup.mission.id)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    member = Client()
    member.force_login(setup.operator)
    assert member.get(url).status_code == 200
    if "{mission}" in path:
        outsider = Client()
        outsider.force_login(setup.outsider)
        assert outsider.get(url).status_code == 404


def test_pages_load_nothing_from_another_host() -> None:
    """No CDN: every script, stylesheet and image comes from our static files."""
    for path in [*FRONTEND.rglob("*.html"), *FRONTEND.rglob("*.js"), *FRONTEND.rglob("*.css")]:
        text = path.read_text()
        assert not re.search(r"""(src|href)=["']https?://""", text), path
        assert not re.search(r"""url\(["']?https?://""", text), path
        assert "https://" not in text or path.suffix == ".html", path


@pytest.mark.django_db(transaction=True)
def test_an_operator_logs_in_sees_counts_per_status_and_creates_a_mission(live_server, page) -> None:  # noqa: ANN001
    setup = team_setup()
    make_mission(setup.other_team, name="someone else's survey")
    log_in(page, live_server.url, setup.operator.username)
    row = page.locator(f"#missions tr[data-mission='{setup.mission.id}']")
    row.wait_for()
    assert "0 in all" in row.inner_text()
    assert "someone else's survey" not in page.inner_text("#missions")
    page.fill("#create-mission input[name=name]", "Bridge survey")
    page.click("#create-mission button[type=submit]")
    page.wait_for_url(re.compile(r"/missions/\d+/$"))
    mission = Mission.objects.get(name="Bridge survey")
    assert mission.team == setup.team and page.url.endswith(f"/missions/{mission.id}/")
    page.goto(live_server.url + "/")
    page.locator("#create-mission select[name=team] option").first.wait_for(state="attached")
    page.evaluate("document.querySelector('#create-mission input[name=name]').removeAttribute('maxlength')")
    page.fill("#create-mission input[name=name]", "x" * 201)
    page.click("#create-mission button[type=submit]")
    page.locator("#create-mission-error").filter(has_text="200").wait_for()
    screenshot(page, "missions")
