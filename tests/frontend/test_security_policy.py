"""The Content-Security-Policy in a real browser: Django's admin still works under it (the product's pages are checked
by every other test here: a blocked script or style is a console error, which fails the test), and the log-in page
says to wait once a username is locked by the log-in throttle."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from tests.frontend.conftest import log_in, screenshot
from tests.platform.factories import make_user, team_setup

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_superuser_uses_the_admin_under_the_policy(live_server, page, console) -> None:  # noqa: ANN001
    setup = team_setup()
    root = make_user("site-root")
    root.is_staff = root.is_superuser = True
    root.save()
    page.goto(f"{live_server.url}/admin/")
    page.fill("input[name=username]", root.username)
    page.fill("input[name=password]", "pw-for-tests-123")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    page.goto(f"{live_server.url}/admin/missions/mission/")
    page.locator("#result_list").wait_for()
    page.click("#action-toggle")  # the changelist's own script runs
    assert page.locator("#changelist-form .action-counter").inner_text().startswith("1 of 1")
    page.goto(f"{live_server.url}/admin/missions/mission/{setup.mission.id}/change/")
    page.locator("input[name=name]").wait_for()
    screenshot(page, "admin-under-csp")
    # Django's admin pages link no favicon, so the browser asks for /favicon.ico: the one error that is not ours
    console.errors[:] = [error for error in console.errors if "/favicon.ico" not in error]


def test_the_login_page_says_to_wait_when_the_username_is_locked(live_server, page, console) -> None:  # noqa: ANN001
    user = make_user("locked-in-browser")
    page.goto(f"{live_server.url}/login/")
    for _ in range(settings.LOGIN_FAILURES_ALLOWED):
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        page.locator("p.error").wait_for()
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "pw-for-tests-123")
    with page.expect_response(re.compile(r"/login/$")) as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 429
    assert "Too many failed log-ins" in page.locator("p.error[role=alert]").inner_text()
    assert "/login/" in page.url
    console.errors[:] = [error for error in console.errors if "status of 429" not in error]  # the 429 itself


def test_the_api_docs_work_offline_and_no_page_asks_any_host_but_the_app(live_server, page, console) -> None:  # noqa: ANN001
    setup = team_setup()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    page.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1).*"), lambda route: route.abort())  # no way out
    page.goto(f"{live_server.url}/api/docs/")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=30_000)
    assert "SMGeo Platform API" in title.inner_text()
    log_in(page, live_server.url, setup.admin.username)
    for path in (
        "/",
        f"/missions/{setup.mission.id}/",
        f"/missions/{setup.mission.id}/review/",
        "/console/",
        "/account/tokens/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    app = live_server.url.split("/")[2]
    assert hosts == {app}, hosts
