"""The workspace by keyboard: ←/→ between drone photos, J/K between targets, a crosshair on the photo that
clicks with Enter, `?` lists every shortcut, focus is visible, and the map markers stay out of the Tab order."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from localization.models import Target
from tests.frontend.workspace_helpers import mission, open_workspace, predicted_target, selected_id  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_arrows_change_the_photo_and_j_k_walk_the_targets_except_while_typing(live_server, page, mission) -> None:  # noqa: ANN001, F811
    first, second = predicted_target(mission, 0), predicted_target(mission, 1)
    open_workspace(page, live_server, mission)
    names = [image.original_name for image in mission.drone_images]
    expect(page.locator("#drone-name")).to_contain_text(names[0])
    page.keyboard.press("ArrowRight")
    expect(page.locator("#drone-name")).to_contain_text(names[1])
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#drone-name")).to_contain_text(names[0])
    page.keyboard.press("j")  # the list is newest first
    expect(page.locator("#targets li.selected")).to_have_attribute("data-target", str(second.id))
    expect(page.locator("#drone-name")).to_contain_text(names[1])  # the selected target's photo
    page.keyboard.press("j")
    expect(page.locator("#targets li.selected")).to_have_attribute("data-target", str(first.id))
    page.keyboard.press("k")
    expect(page.locator("#targets li.selected")).to_have_attribute("data-target", str(second.id))
    page.fill("#upload-basemaps input[name=bounds]", "jkjk")  # typing in a text field moves nothing
    assert selected_id(page) == second.id
    expect(page.locator("#drone-name")).to_contain_text(names[1])


def test_the_selection_follows_the_photo_and_a_reload_keeps_it(live_server, page, mission) -> None:  # noqa: ANN001, F811
    first = predicted_target(mission, 0)
    open_workspace(page, live_server, mission)
    expect(page.get_by_text("1 target", exact=True)).to_be_visible()  # never "1 targets"
    page.keyboard.press("j")
    expect(page.locator("#targets li.selected")).to_have_attribute("data-target", str(first.id))
    expect(page.locator("#selected")).to_be_visible()
    assert f"target={first.id}" in page.url
    page.keyboard.press("ArrowRight")  # another photo: its targets are not the selected one's
    expect(page.locator("#drone-name")).to_contain_text(mission.drone_images[1].original_name)
    expect(page.locator("#targets li.selected")).to_have_count(0)
    expect(page.locator("#selected")).to_be_hidden()
    assert "target=" not in page.url and f"image={mission.drone_images[1].id}" in page.url
    page.reload()
    expect(page.locator("#drone-name")).to_contain_text(mission.drone_images[1].original_name)
    expect(page.locator("#targets li.selected")).to_have_count(0)


def test_the_crosshair_clicks_the_photo_with_enter_as_the_mouse_would(live_server, page, mission) -> None:  # noqa: ANN001, F811
    open_workspace(page, live_server, mission)
    image = mission.drone_images[0]
    page.keyboard.press("c")
    expect(page.locator("#drone-map")).to_be_focused()
    page.locator("#drone-map .crosshair").wait_for()
    step = max(1, round(image.width / 100))
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    page.keyboard.press("Shift+ArrowUp")
    page.keyboard.press("Enter")
    page.locator("#targets li[data-status]").first.wait_for()
    target = Target.objects.get()
    assert target.drone_image_id == image.id
    assert target.click_x == round(image.width / 2) + 3 * step
    assert target.click_y == round(image.height / 2) + step - 10 * step
    assert "Waiting for a worker" in page.inner_text("#selected")
    page.keyboard.press("Escape")  # leaves the crosshair
    expect(page.locator("#drone-map .crosshair")).to_have_count(0)


def test_question_mark_lists_every_shortcut_focus_shows_and_markers_are_not_tabbed(live_server, page, mission) -> None:  # noqa: ANN001, F811
    for _ in range(3):
        predicted_target(mission, 0)
    open_workspace(page, live_server, mission)
    expect(page.locator("#drone-map .click-marker")).to_have_count(3)
    page.keyboard.press("?")
    sheet = page.locator("#shortcuts")
    expect(sheet).to_be_visible()
    keys = set(sheet.locator("kbd").all_inner_texts())
    assert {"←", "→", "J", "K", "C", "Enter", "Esc", "Z", "F", "H", "T", "Delete", "?"} <= keys
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    assert page.locator("#drone-map .leaflet-marker-icon[tabindex]").count() == 0
    page.keyboard.press("c")
    page.keyboard.press("Tab")  # from the photo: its zoom buttons, never a click marker
    in_markers = page.evaluate("() => Boolean(document.activeElement.closest('.leaflet-marker-pane'))")
    assert not in_markers
    page.locator("#targets li[data-target]").first.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")  # Enter on a focused row selects it
    expect(page.locator("#targets li.selected")).to_have_count(1)
