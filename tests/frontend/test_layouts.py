"""The pages at three sizes: a desktop (1440x900), a small laptop or tablet (800x700) and a phone (390x844).

Wide, the workspace and the review queue show drone image, basemap and side column side by side. Below 1100 px
the two panes are tabs (one shown, nearly the whole width), the workspace's side column is a drawer a button opens,
and a table wider than its card scrolls inside the card. Nothing is ever wider than the window. Screenshots:
layout-<page>-<width>x<height>.png in the artifacts folder (docs/frontend.md shows some).
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import log_in, screenshot
from tests.frontend.pages import synthetic_mission
from tests.frontend.workspace_helpers import open_workspace, predicted_target

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP, LAPTOP, PHONE = (1440, 900), (800, 700), (390, 844)


@pytest.fixture
def mission(tmp_path_factory):  # noqa: ANN001, ANN201
    return synthetic_mission(tmp_path_factory.getbasetemp() / "synthetic-mission")


def resize(page, size: tuple[int, int]) -> None:  # noqa: ANN001
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.wait_for_timeout(250)  # the drawer's and Leaflet's own transitions settle


def snap(page, name: str, size: tuple[int, int]) -> None:  # noqa: ANN001
    screenshot(page, f"layout-{name}-{size[0]}x{size[1]}")


def assert_fits_the_window(page) -> None:  # noqa: ANN001
    """Nothing on the page is wider than the window: no sideways scrolling of the page itself."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"


def box(page, selector: str) -> dict:  # noqa: ANN001
    return page.locator(selector).bounding_box()


def assert_side_by_side(page, *selectors: str) -> None:  # noqa: ANN001
    boxes = [box(page, selector) for selector in selectors]
    for left, right in pairwise(boxes):
        assert abs(left["y"] - right["y"]) < 5 and left["x"] + left["width"] <= right["x"], boxes
    assert all(b["width"] >= 300 for b in boxes), boxes


def assert_tabs_switch_the_panes(page, size: tuple[int, int]) -> None:  # noqa: ANN001
    """One pane at a time, nearly the window's width and most of its height; the tab bar switches them."""
    drone, basemap = page.locator("#drone-map"), page.locator("#basemap-map")
    expect(drone).to_be_visible()
    expect(basemap).to_be_hidden()
    assert box(page, "#drone-map")["width"] >= size[0] - 40
    page.get_by_role("tab", name="Basemap").click()
    expect(basemap).to_be_visible()
    expect(drone).to_be_hidden()
    shown = box(page, "#basemap-map")
    assert shown["width"] >= size[0] - 40 and shown["height"] >= 250, shown
    tiles = page.locator("#basemap-map img.leaflet-tile-loaded")
    expect(tiles.first).to_be_visible()  # the map was measured at its real size: its tiles are drawn
    expect(page.get_by_role("tab", name="Basemap")).to_have_attribute("aria-selected", "true")


def test_the_workspace_at_three_sizes(live_server, page, mission) -> None:  # noqa: ANN001
    predicted_target(mission)
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    open_workspace(page, live_server, mission)
    assert_side_by_side(page, ".pane:has(#drone-map)", ".pane:has(#basemap-map)", "aside.side")
    expect(page.locator(".layout-bar")).to_be_hidden()
    expect(page.locator("#upload-basemaps button[type=submit]")).to_be_visible()
    assert_fits_the_window(page)
    snap(page, "workspace", DESKTOP)
    for size in (LAPTOP, PHONE):
        resize(page, size)
        page.get_by_role("tab", name="Drone image").click()
        assert_tabs_switch_the_panes(page, size)
        upload = page.locator("#upload-basemaps button[type=submit]")
        expect(upload).to_be_hidden()  # in the closed drawer
        toggle = page.get_by_role("button", name="Targets & uploads", exact=True)
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        page.locator("#targets li").first.wait_for()
        upload.scroll_into_view_if_needed()
        expect(upload).to_be_in_viewport()
        drawer = box(page, "aside.side")
        assert drawer["x"] >= 0 and drawer["x"] + drawer["width"] <= size[0] + 1, drawer
        assert_fits_the_window(page)
        snap(page, "workspace-drawer", size)
        page.keyboard.press("Escape")
        expect(upload).to_be_hidden()
        expect(toggle).to_be_focused()
        snap(page, "workspace", size)
    resize(page, DESKTOP)  # back to wide: three columns again, whichever tab was chosen
    assert_side_by_side(page, ".pane:has(#drone-map)", ".pane:has(#basemap-map)", "aside.side")


def test_the_review_queue_at_three_sizes(live_server, page, mission) -> None:  # noqa: ANN001
    target = predicted_target(mission)
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    log_in(page, live_server.url, mission.setup.reviewer.username)
    page.goto(f"{live_server.url}/missions/{mission.setup.mission.id}/review/")
    page.locator(f"#current-target[data-target='{target.id}']").wait_for()
    assert_side_by_side(page, ".pane:has(#drone-map)", ".pane:has(#basemap-map)", "aside.side")
    assert_fits_the_window(page)
    snap(page, "review", DESKTOP)
    for size in (LAPTOP, PHONE):
        resize(page, size)
        page.get_by_role("tab", name="Drone image").click()
        assert_tabs_switch_the_panes(page, size)
        approve = page.locator("#approve")
        approve.scroll_into_view_if_needed()  # the decisions follow the panes
        expect(approve).to_be_in_viewport()
        expect(approve).to_be_enabled()
        assert_fits_the_window(page)
        page.evaluate("window.scrollTo(0, 0)")
        snap(page, "review", size)


def test_missions_and_models_pages_at_three_sizes(live_server, page, mission) -> None:  # noqa: ANN001
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    log_in(page, live_server.url, mission.setup.admin.username)
    page.locator(f"#missions tr[data-mission='{mission.setup.mission.id}']").wait_for()
    console = f"{live_server.url}/console/?team={mission.setup.team.id}"
    for size in (DESKTOP, LAPTOP, PHONE):
        resize(page, size)
        page.goto(live_server.url + "/")
        page.locator(f"#missions tr[data-mission='{mission.setup.mission.id}']").wait_for()
        expect(page.get_by_role("link", name="Models & team")).to_be_in_viewport()  # the top bar wraps, never cut
        assert_fits_the_window(page)
        snap(page, "missions", size)
        page.goto(console)
        page.locator(f"#versions tr[data-version='{mission.version.id}']").wait_for()
        assert_fits_the_window(page)
        scroll = page.evaluate(
            "(() => { const t = document.getElementById('versions').parentElement;"
            " return [t.className, t.scrollWidth, t.clientWidth]; })()"
        )
        assert scroll[0] == "table-scroll", scroll
        if size == DESKTOP:
            assert scroll[1] <= scroll[2], scroll  # the whole table in view
        else:
            assert scroll[1] > scroll[2], scroll  # wider than the window: it scrolls inside its card
            last = page.locator(f"#versions tr[data-version='{mission.version.id}'] td").last
            last.scroll_into_view_if_needed()
            expect(last).to_be_in_viewport()
            expect(page.get_by_role("heading", name="Model versions")).to_be_in_viewport()  # only the table moved
        snap(page, "console", size)
