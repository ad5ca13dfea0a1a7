"""People and API tokens in a real browser: an admin who adds someone already in the team is told their role and
shown where to change it; an invited person opens the one-time link, sets a password and lands in the team; a user
makes an API token (shown once), a script uses it, the user revokes it and the script is refused."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiToken, Membership, Role
from tests.frontend.conftest import log_in, screenshot
from tests.platform.factories import team_setup

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-field-password-42"


def open_members(page, live_server, user) -> None:  # noqa: ANN001
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/console/")
    page.locator("#members tr[data-member]").first.wait_for()


def test_adding_a_member_twice_names_their_role_and_keeps_it(live_server, page) -> None:  # noqa: ANN001
    setup = team_setup()
    open_members(page, live_server, setup.admin)
    page.fill("#add-member input[name=username]", setup.reviewer.username)
    page.select_option("#add-member select[name=role]", "admin")
    page.click("#add-member button[type=submit]")
    page.locator(".toast.error").filter(has_text=f"{setup.reviewer.username} is already a reviewer").wait_for()
    row = page.locator(f"#members tr.pointed[data-username='{setup.reviewer.username}']")
    row.wait_for()  # the row where the role can be changed is pointed at
    assert row.locator("select.role").input_value() == "reviewer"
    assert Membership.objects.get(team=setup.team, user=setup.reviewer).role == Role.REVIEWER
    screenshot(page, "people-already-a-member")


def test_an_invited_person_sets_a_password_from_the_one_time_link_and_joins(
    live_server, page, browser, console
) -> None:  # noqa: ANN001, E501
    setup = team_setup()
    open_members(page, live_server, setup.admin)
    page.fill("#invite input[name=username]", "newbie")
    page.select_option("#invite select[name=role]", "reviewer")
    page.click("#invite button[type=submit]")
    link = page.locator("#invite-link-url")
    link.wait_for()
    url = link.input_value()
    assert "/invite/" in url and "newbie" in page.locator("#invite-link-who").inner_text()
    page.locator("#invitations tr[data-username='newbie']").wait_for()
    screenshot(page, "people-invitation-link")
    page.click("#hide-invite-link")
    assert page.locator("#invite-link").is_hidden() and link.input_value() == ""

    context = browser.new_context()
    invited = context.new_page()
    console.watch(invited)
    invited.goto(url)
    assert invited.locator("#invited-username").inner_text() == "newbie"
    invited.fill("input[name=password]", PASSWORD)
    invited.fill("input[name=password_again]", PASSWORD)
    invited.click("button[type=submit]")
    invited.wait_for_url(lambda u: "/console/" in u)
    invited.locator("#members tr[data-username='newbie']").wait_for()
    assert invited.locator(".who").inner_text() == "newbie"
    context.close()
    used = Client().get(url)  # the link works once (its page answers 409, which the browser would log as an error)
    assert used.status_code == 409 and b"already been used" in used.content
    assert Membership.objects.get(team=setup.team, user__username="newbie").role == Role.REVIEWER

    page.reload()
    page.locator("#members tr[data-username='newbie']").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator("#invitations").is_hidden()  # nothing waits any more


def test_a_user_makes_a_token_once_a_script_uses_it_and_revoking_it_locks_the_script_out(live_server, page) -> None:  # noqa: ANN001
    setup = team_setup()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server.url, setup.operator.username)
    page.click("text=API tokens")
    page.wait_for_url(lambda u: "/account/tokens/" in u)
    page.locator("#tokens").filter(has_text="no API tokens yet").wait_for()
    page.fill("#create-token input[name=name]", "field laptop")
    page.click("#create-token button[type=submit]")
    row = page.locator("#tokens tr[data-name='field laptop']")
    row.wait_for()
    key = page.locator("#new-token-key").input_value()
    assert key.startswith("smg_") and row.locator("code").inner_text() == f"{key[:10]}…"
    screenshot(page, "people-new-token")

    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert script.get("/api/v1/me/").json()["username"] == setup.operator.username
    page.reload()  # the key is gone from the page; the token is listed with its last use
    assert page.locator("#new-token").is_hidden()
    assert key not in page.content()
    assert row.locator("td").nth(3).inner_text() != "never"

    row.locator("button.revoke").click()
    row.wait_for(state="detached")
    assert not ApiToken.objects.filter(user=setup.operator).exists()
    assert script.get("/api/v1/me/").status_code == 401
    assert get_user_model().objects.filter(username=setup.operator.username).exists()


def test_the_token_page_asks_anonymous_people_to_log_in() -> None:
    response = Client().get("/account/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
