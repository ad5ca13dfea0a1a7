"""The workspace's header, boxes and tools: the team's active model (or a banner and no clicks without one), the
reviewed box first with the prediction thin and dashed, a legend, zoom to box / fit basemap, deleting a mis-click,
and the selection kept in the address for Back / Forward and reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Team
from localization import review_services
from localization.models import Target
from tests.frontend.pages import click_drone, settled_centre
from tests.frontend.workspace_helpers import mission, open_workspace, predicted_target, selected_id  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def centre_text(geojson: dict) -> str:
    ring = geojson["coordinates"][0][:4]
    lat, lon = sum(p[1] for p in ring) / 4, sum(p[0] for p in ring) / 4
    return f"{lat:.6f}, {lon:.6f}"


def test_the_active_model_is_named_and_without_one_a_banner_turns_clicks_off(live_server, page, mission) -> None:  # noqa: ANN001, F811
    open_workspace(page, live_server, mission)
    expect(page.locator("#active-model")).to_contain_text(mission.version.name)
    expect(page.locator("#no-model")).to_be_hidden()
    Team.objects.filter(id=mission.setup.team.id).update(active_model=None)
    page.reload()
    expect(page.locator("#no-model")).to_be_visible()
    expect(page.locator("#no-model")).to_contain_text("this team has no active model", ignore_case=True)
    expect(page.locator("#no-model")).to_contain_text("Models & team")
    page.locator("#drone-map img.leaflet-image-layer").wait_for()
    click_drone(page, mission.drone_images[0], *mission.truth[0]["click"])
    page.locator(".toast.error").wait_for()
    assert Target.objects.count() == 0


def test_a_corrected_target_shows_the_reviewed_box_first_and_a_legend(live_server, page, mission) -> None:  # noqa: ANN001, F811
    target = predicted_target(mission, 0)
    x1, y1, x2, y2 = mission.truth[0]["box_px"]
    review = review_services.review_create(
        by=mission.setup.reviewer,
        target_id=target.id,
        decision="correct",
        final_box=[x1 + 60, y1 + 40, x2 + 60, y2 + 40],
    )
    open_workspace(page, live_server, mission, query=f"?target={target.id}")
    expect(page.locator("#basemap-map path.box-reviewed")).to_have_count(1)
    expect(page.locator("#basemap-map path.box-secondary")).to_have_count(1)
    expect(page.locator("#basemap-map path.box-predicted")).to_have_count(0)
    assert page.locator("#basemap-map path.box-secondary").get_attribute("stroke-dasharray")
    assert page.inner_text("#box-centre") == centre_text(review.final_box_geojson)
    assert page.inner_text("#predicted-centre") == centre_text(target.prediction.box_geojson)
    legend = page.locator("#map-legend li").evaluate_all("items => items.map((li) => li.dataset.legend)")
    assert {"predicted", "reviewed", "secondary", "candidates", "window", "drone", "heading", "heatmap"} <= set(legend)


def test_zoom_to_box_and_fit_basemap(live_server, page, mission) -> None:  # noqa: ANN001, F811
    target = predicted_target(mission, 0)
    open_workspace(page, live_server, mission, query=f"?target={target.id}")
    box = page.locator("#basemap-map path.box-predicted")
    settled_centre(page, box)
    zoomed = box.bounding_box()["width"]
    for _ in range(2):  # look closer by hand, then ask for the whole basemap
        page.click("#basemap-map .leaflet-control-zoom-in")
        settled_centre(page, box)
    assert box.bounding_box()["width"] > zoomed * 3
    page.click("#fit-basemap")
    settled_centre(page, box)
    assert box.bounding_box()["width"] < zoomed * 2
    page.click("#zoom-box")
    settled_centre(page, box)
    assert box.bounding_box()["width"] == pytest.approx(zoomed, rel=0.05)


def test_its_creator_deletes_a_mis_click_but_not_a_reviewed_or_anothers_one(live_server, page, mission) -> None:  # noqa: ANN001, F811
    mine, reviewed = predicted_target(mission, 0), predicted_target(mission, 1)
    theirs = predicted_target(mission, 2, by=mission.setup.admin)
    review_services.review_create(by=mission.setup.reviewer, target_id=reviewed.id, decision="approve")
    open_workspace(page, live_server, mission)
    for other in (reviewed, theirs):
        page.click(f"#targets li[data-target='{other.id}']")
        expect(page.locator("#selected h3")).to_have_text(f"Target #{other.id}")
        expect(page.locator("#delete-target")).to_have_count(0)
    page.click(f"#targets li[data-target='{mine.id}']")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-target")
    expect(page.locator(f"#targets li[data-target='{mine.id}']")).to_have_count(0)
    expect(page.locator("#selected")).to_be_hidden()
    assert not Target.objects.filter(id=mine.id).exists()
    assert Target.objects.count() == 2


def test_the_address_keeps_photo_and_target_for_back_forward_and_reload(live_server, page, mission) -> None:  # noqa: ANN001, F811
    first, second = predicted_target(mission, 0), predicted_target(mission, 1)
    open_workspace(page, live_server, mission)
    page.click(f"#targets li[data-target='{first.id}']")
    page.click(f"#targets li[data-target='{second.id}']")
    assert f"target={second.id}" in page.url
    page.keyboard.press("ArrowRight")  # the photo after the second target's
    third = mission.drone_images[2]
    expect(page.locator("#drone-name")).to_contain_text(third.original_name)
    assert f"image={third.id}" in page.url
    page.go_back()
    expect(page.locator("#targets li.selected")).to_have_attribute("data-target", str(second.id))
    page.go_back()
    expect(page.locator("#targets li.selected")).to_have_attribute("data-target", str(first.id))
    expect(page.locator("#drone-name")).to_contain_text(mission.drone_images[0].original_name)
    page.go_forward()
    expect(page.locator("#targets li.selected")).to_have_attribute("data-target", str(second.id))
    page.reload()
    page.locator("#targets li.selected").wait_for()
    assert selected_id(page) == second.id
    expect(page.locator("#drone-name")).to_contain_text(mission.drone_images[1].original_name)
