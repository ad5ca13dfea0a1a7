"""Every page checked by axe-core (bundled by axe-playwright-python, injected by the test, never by the pages) for
serious and critical violations: unlabelled controls, too little contrast, wrong roles, and the rest of its WCAG 2
A/AA rules. Also: keyboard focus is outlined on every page, and the workspace's small-screen drawer passes too.

One run: TEST_NAME=<you> bash deploy/local/test.sh tests/frontend/test_accessibility.py -q
"""

from __future__ import annotations

import pytest

from accounts.invitations import invitation_create
from tests.frontend.conftest import screenshot
from tests.frontend.pages import synthetic_mission
from tests.frontend.training_runs import finished_run
from tests.frontend.workspace_helpers import open_workspace, predicted_target

pytestmark = pytest.mark.django_db(transaction=True)

BLOCKING = {"serious", "critical"}
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}


@pytest.fixture
def mission(tmp_path_factory):  # noqa: ANN001, ANN201
    return synthetic_mission(tmp_path_factory.getbasetemp() / "synthetic-mission")


def serious_violations(page, name: str) -> list[str]:  # noqa: ANN001
    """axe-core over the page as it is now: each serious or critical violation as one line naming the elements."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_timeout(300)  # the toasts and the maps' transitions settle
    results = Axe().run(page, options={**RULES, "resultTypes": ["violations"]})
    screenshot(page, f"a11y-{name}")
    return [
        f"{name}: {violation['id']} ({violation['impact']}) {violation['help']}: "
        + "; ".join(" ".join(map(str, node["target"])) for node in violation["nodes"][:6])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]


def assert_focus_is_outlined(page, name: str) -> None:  # noqa: ANN001
    """Tab to the first control of the page: its outline is drawn, solid and at least 2 px wide."""
    page.locator("body").focus()
    page.keyboard.press("Tab")
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.tagName, s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    assert style[1] not in ("none", "") and style[2] >= 2, f"{name}: the focused {style[0]} has outline {style[1:]}"


def test_every_page_has_no_serious_accessibility_violation(live_server, page, mission) -> None:  # noqa: ANN001
    setup, found = mission.setup, []
    target = predicted_target(mission)
    page.goto(f"{live_server.url}/login/")
    found += serious_violations(page, "login")
    open_workspace(page, live_server, mission, user=setup.admin, query=f"?target={target.id}")  # logs in
    page.locator(f"#targets li.selected[data-target='{target.id}']").wait_for()
    found += serious_violations(page, "workspace")
    page.goto(f"{live_server.url}/")
    page.locator(f"#missions tr[data-mission='{setup.mission.id}']").wait_for()
    found += serious_violations(page, "missions")
    page.goto(f"{live_server.url}/missions/{setup.mission.id}/review/")
    page.locator(f"#current-target[data-target='{target.id}']").wait_for()
    found += serious_violations(page, "review")
    run, _, _ = finished_run(setup, mission.version, "demo+ft", [1, 2, 3], range(24), (set(range(10)), set(range(15))))
    page.goto(f"{live_server.url}/console/?team={setup.team.id}&run={run.id}")  # with its learning curve and a run
    page.locator(f"#versions tr[data-version='{mission.version.id}']").wait_for()
    page.locator("#members tbody tr[data-username]").first.wait_for()
    page.locator(f"#learning-curve tr[data-run='{run.id}']").wait_for()
    page.locator(f"#run-detail[data-run='{run.id}'] #paired-outcome").wait_for()
    found += serious_violations(page, "console")
    page.goto(f"{live_server.url}/account/tokens/")
    page.fill("#create-token input[name=name]", "nightly export")
    page.click("#create-token button[type=submit]")
    page.locator("#tokens tbody tr[data-token]").first.wait_for()
    found += serious_violations(page, "tokens")
    page.context.clear_cookies()  # the invited person is someone else, not logged in
    invitation = invitation_create(team=setup.team, username="newcomer", role="operator", by=setup.admin)
    page.goto(f"{live_server.url}/invite/{invitation.key}/")
    page.locator("#invited-username").wait_for()
    found += serious_violations(page, "invitation")
    assert not found, "\n".join(found)


def test_small_screen_workspace_and_focus_outlines_pass_too(live_server, page, mission) -> None:  # noqa: ANN001
    target = predicted_target(mission)
    open_workspace(page, live_server, mission, query=f"?target={target.id}")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Targets & uploads", exact=True).click()
    page.locator(f"#targets li.selected[data-target='{target.id}']").wait_for()
    found = serious_violations(page, "workspace-drawer-390x844")
    assert not found, "\n".join(found)
    page.set_viewport_size({"width": 1440, "height": 900})
    for path in ("/", f"/missions/{mission.setup.mission.id}/", "/console/", "/account/tokens/"):
        page.goto(live_server.url + path)
        assert_focus_is_outlined(page, path)
