"""The mission workspace in a real browser: a click on the drone image makes a target, the model's answer is
drawn on the basemap with its candidates and heatmap, failures say why and can be retried, a drawn window limits
the search, uploads show progress and the API's own words when refused. No worker here: the journey test has one."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from localization.models import Target
from tests.frontend.conftest import log_in, screenshot
from tests.frontend.pages import click_drone, predict, synthetic_mission
from tests.platform.localization_fixtures import make_target

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mission(tmp_path_factory):  # noqa: ANN001, ANN201
    return synthetic_mission(tmp_path_factory.getbasetemp() / "synthetic-mission")


def open_workspace(page, live_server, mission, user=None) -> None:  # noqa: ANN001
    log_in(page, live_server.url, (user or mission.setup.operator).username)
    page.goto(f"{live_server.url}/missions/{mission.setup.mission.id}/")
    page.locator("#basemap-select option[value]:not([value=''])").first.wait_for(state="attached")
    page.locator("#drone-map img.leaflet-image-layer").wait_for()


def test_a_click_on_the_drone_image_makes_one_queued_target_at_that_pixel(live_server, page, mission) -> None:  # noqa: ANN001
    open_workspace(page, live_server, mission)
    image = mission.drone_images[0]  # the workspace opens on the first photo
    x, y = mission.truth[0]["click"]
    click_drone(page, image, x, y)
    row = page.locator("#targets li[data-status]").first
    row.wait_for()
    assert "queued" in row.inner_text()
    target = Target.objects.get()
    assert target.drone_image_id == image.id and target.basemap_id == mission.basemap.id
    assert abs(target.click_x - x) < 3 and abs(target.click_y - y) < 3
    assert page.locator("#drone-map .click-marker").count() == 1
    assert "Waiting for a worker" in page.inner_text("#selected")


def test_a_predicted_target_shows_box_candidates_heatmap_and_the_drone_position(live_server, page, mission) -> None:  # noqa: ANN001
    truth = mission.truth[0]
    target = Target.objects.create(
        mission=mission.setup.mission, drone_image=mission.drone_images[0], basemap=mission.basemap,
        click_x=truth["click"][0], click_y=truth["click"][1], created_by=mission.setup.operator,
    )  # fmt: skip
    box = truth["box_px"]
    predict(target, mission, box, [[b + 300 for b in box]])
    open_workspace(page, live_server, mission)
    page.click(f"#targets li[data-target='{target.id}']")
    overlay = page.locator("#basemap-map .leaflet-overlay-pane")
    page.locator("#basemap-map img.heatmap").wait_for()
    assert page.locator("#basemap-map .candidate-label").all_inner_texts() == ["1", "2"]
    assert "0.870" in page.inner_text("#pred-score") and "gps" in page.inner_text("#selected")
    paths = overlay.locator("path").count()  # box + 2 candidates + drone position, heading and look-at point
    assert paths >= 6
    page.uncheck("#show-heatmap")
    page.locator("#basemap-map img.heatmap").wait_for(state="detached")
    page.uncheck("#show-candidates")
    expect(page.locator("#basemap-map .candidate-label")).to_have_count(0)  # after Leaflet's fade-out
    screenshot(page, "workspace-predicted")


def test_a_failed_target_says_why_and_retry_puts_it_back_in_the_queue(live_server, page, mission) -> None:  # noqa: ANN001
    target = make_target(mission.setup.mission, by=mission.setup.operator, status="failed", basemap=mission.basemap)
    Target.objects.filter(id=target.id).update(error="the worker lost the basemap file")
    other = make_target(mission.setup.mission, by=mission.setup.operator, status="queued", basemap=mission.basemap)
    open_workspace(page, live_server, mission)
    page.select_option("#status-filter", "failed")
    expect(page.locator("#targets li[data-target]")).to_have_count(1)
    assert page.locator(f"#targets li[data-target='{other.id}']").count() == 0
    page.click(f"#targets li[data-target='{target.id}']")
    assert page.inner_text("#target-error") == "the worker lost the basemap file"
    page.click("#retry")
    page.select_option("#status-filter", "queued")
    page.locator(f"#targets li[data-target='{target.id}'][data-status='queued']").wait_for()
    target.refresh_from_db()
    assert target.status == "queued"


def test_a_drawn_search_window_limits_the_next_click_to_it(live_server, page, mission) -> None:  # noqa: ANN001
    open_workspace(page, live_server, mission)
    page.click("#draw-window")
    box = page.locator("#basemap-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 80, cy - 80)
    page.mouse.down()
    page.mouse.move(cx, cy, steps=5)
    page.mouse.move(cx + 80, cy + 80, steps=5)
    page.mouse.up()
    page.locator("#clear-window:not([hidden])").wait_for()
    click_drone(page, mission.drone_images[0], *mission.truth[0]["click"])
    page.locator("#targets li[data-status]").first.wait_for()
    window = Target.objects.get().search_window
    assert window is not None
    x1, y1, x2, y2 = window
    assert 0 <= x1 < x2 <= mission.basemap.width and 0 <= y1 < y2 <= mission.basemap.height
    assert x2 - x1 < mission.basemap.width / 2  # a part of the basemap, not all of it


def test_drone_uploads_show_progress_and_a_refused_file_says_why(live_server, page, mission, tmp_path) -> None:  # noqa: ANN001
    open_workspace(page, live_server, mission)
    before = page.locator("#drone-thumbs img").count()
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo at all")
    photo = tmp_path / "DJI_0999.JPG"
    photo.write_bytes(mission.drone_images[0].file.open("rb").read())
    page.set_input_files("#upload-drone input[type=file]", [str(notes)])
    page.click("#upload-drone button[type=submit]")
    refused = page.locator("#uploads li[data-upload='notes.jpg'] .error")
    refused.wait_for()
    assert "image" in refused.inner_text().lower()
    page.set_input_files("#upload-drone input[type=file]", [str(photo)])
    page.click("#upload-drone button[type=submit]")
    page.locator("#uploads li[data-upload='DJI_0999.JPG'] .ok").wait_for()
    assert page.locator("#uploads li[data-upload='DJI_0999.JPG'] progress").get_attribute("value") == "1"
    assert page.locator("#drone-thumbs img").count() == before  # the same photo twice is one drone image
