"""The workspace's Upload panel in a real browser: typed basemap bounds drawn on an overview map against the
mission's drone GPS points, a latitude/longitude swap spotted and fixed in one click, bounds that miss every GPS
point warned about, a refused upload keeping its file and bounds, basemaps named with size and date."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from localization.models import Target
from missions.models import DroneImage
from tests.frontend.conftest import log_in, screenshot
from tests.frontend.pages import click_drone, synthetic_mission
from tests.platform.test_drone_images import ZURICH_GPS, drone_jpeg

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mission(tmp_path_factory):  # noqa: ANN001, ANN201
    return synthetic_mission(tmp_path_factory.getbasetemp() / "synthetic-mission")


def open_workspace(page, live_server, mission) -> None:  # noqa: ANN001
    log_in(page, live_server.url, mission.setup.operator.username)
    page.goto(f"{live_server.url}/missions/{mission.setup.mission.id}/")
    page.locator("#drone-map img.leaflet-image-layer").wait_for()


def text(bounds: list[float]) -> str:
    return ",".join(str(v) for v in bounds)


def test_swapped_bounds_are_spotted_on_the_overview_and_fixed_in_one_click(live_server, page, mission) -> None:  # noqa: ANN001
    west, south, east, north = mission.basemap.source_bounds
    open_workspace(page, live_server, mission)
    page.fill("#upload-basemaps input[name=bounds]", text([south, west, north, east]))
    page.locator("#bounds-swap").wait_for()
    assert "swapped" in page.inner_text("#bounds-swap")
    assert "None of the mission's" in page.inner_text("#bounds-outside")
    overview = page.locator("#bounds-overview")
    assert overview.locator("path.typed-bounds.doubtful").count() == 1
    assert overview.locator("path.gps-point").count() == len(mission.drone_images)
    assert overview.locator("path.basemap-outline").count() == 1
    screenshot(page, "uploads-swapped-bounds")
    page.click("#swap-bounds")
    assert page.input_value("#upload-basemaps input[name=bounds]") == text([west, south, east, north])
    assert page.locator("#bounds-swap").count() == 0 and page.locator("#bounds-outside").count() == 0
    assert overview.locator("path.typed-bounds:not(.doubtful)").count() == 1
    assert f"{len(mission.drone_images)} of {len(mission.drone_images)} drone GPS points inside" in page.inner_text(
        "#bounds-check"
    )


def test_bounds_that_miss_every_gps_point_or_cannot_be_lonlat_are_warned_about(live_server, page, mission) -> None:  # noqa: ANN001
    open_workspace(page, live_server, mission)
    field = "#upload-basemaps input[name=bounds]"
    page.fill(field, "100.0,10.0,100.1,10.1")
    page.locator("#bounds-outside").wait_for()
    assert page.locator("#bounds-swap").count() == 0  # swapping would not help either
    page.fill(field, "10.0,100.0,10.1,100.1")  # a latitude of 100°: only makes sense swapped
    page.locator("#bounds-swap").wait_for()
    assert "only make sense" in page.inner_text("#bounds-swap")
    page.fill(field, "1,2,3")
    assert "four numbers" in page.inner_text("#bounds-check")


def test_a_refused_basemap_keeps_its_file_and_bounds_in_the_form(live_server, page, mission, tmp_path) -> None:  # noqa: ANN001
    open_workspace(page, live_server, mission)
    fake = tmp_path / "scan.png"
    fake.write_text("not a picture")
    bounds = text(mission.basemap.source_bounds)
    page.set_input_files("#upload-basemaps input[type=file]", [str(fake)])
    page.fill("#upload-basemaps input[name=bounds]", bounds)
    page.click("#upload-basemaps button[type=submit]")
    page.locator("#uploads li[data-upload='scan.png'] .error").wait_for()
    chosen = page.eval_on_selector("#upload-basemaps input[type=file]", "input => [...input.files].map((f) => f.name)")
    assert chosen == ["scan.png"]
    assert page.input_value("#upload-basemaps input[name=bounds]") == bounds


def test_basemap_choices_show_size_and_upload_day(live_server, page, mission) -> None:  # noqa: ANN001
    open_workspace(page, live_server, mission)
    option = page.locator(f"#basemap-select option[value='{mission.basemap.id}']")
    option.wait_for(state="attached")
    label = option.inner_text()
    assert f"{mission.basemap.width}×{mission.basemap.height} px" in label
    assert str(mission.basemap.created_at.year) in label


def test_a_photo_taken_far_from_every_basemap_is_warned_about_at_upload_and_on_the_click(
    live_server,
    page,
    mission,
    tmp_path,  # noqa: ANN001
) -> None:
    far = tmp_path / "far-away.jpg"
    far.write_bytes(drone_jpeg(gps={**ZURICH_GPS, 1: "S"}))  # 47.5° S: the other side of the world
    open_workspace(page, live_server, mission)
    page.set_input_files("#upload-drone input[type=file]", [str(far)])
    page.click("#upload-drone button[type=submit]")
    row = page.locator("#uploads li .warn", has_text="from every basemap of this mission")
    row.wait_for(timeout=60_000)
    assert "km" in row.inner_text() and "searches the whole basemap" in row.inner_text()
    expect(page.locator("#drone-name.warn")).to_contain_text("far-away.jpg")
    image = DroneImage.objects.get(original_name="far-away.jpg")
    for _ in range(5):  # a click while the map still animates to the new photo can land beside it: click again
        click_drone(page, image, 320, 240)
        page.wait_for_timeout(1500)
        if Target.objects.filter(drone_image=image).exists():
            break
    expect(page.locator(".toast.warn", has_text="Draw a search window")).to_be_visible(timeout=8000)
    near = mission.drone_images[0]  # a photo of the mission: no warning
    page.click(f"#drone-thumbs img[data-image='{near.id}']")
    expect(page.locator("#drone-name")).not_to_have_class(re.compile("warn"))
