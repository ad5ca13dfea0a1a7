"""What the workspace's browser tests share: the synthetic mission, opening the page, a predicted target."""

from __future__ import annotations

import pytest

from localization.models import Target
from tests.frontend.conftest import log_in
from tests.frontend.pages import predict, synthetic_mission


@pytest.fixture
def mission(tmp_path_factory):  # noqa: ANN001, ANN201
    return synthetic_mission(tmp_path_factory.getbasetemp() / "synthetic-mission")


def open_workspace(page, live_server, mission, user=None, query: str = "") -> None:  # noqa: ANN001
    log_in(page, live_server.url, (user or mission.setup.operator).username)
    page.goto(f"{live_server.url}/missions/{mission.setup.mission.id}/{query}")
    page.locator("#basemap-select option[value]:not([value=''])").first.wait_for(state="attached")
    page.locator("#drone-map img.leaflet-image-layer").wait_for()
    page.locator("#active-model strong").wait_for()


def predicted_target(mission, index: int = 0, shift: float = 300, by=None) -> Target:  # noqa: ANN001
    """A target on drone photo `index`, clicked at its object and predicted at the true box (a candidate beside)."""
    truth = mission.truth[index]
    target = Target.objects.create(
        mission=mission.setup.mission, drone_image=mission.drone_images[index], basemap=mission.basemap,
        click_x=truth["click"][0], click_y=truth["click"][1], created_by=by or mission.setup.operator,
    )  # fmt: skip
    box = truth["box_px"]
    return predict(target, mission, box, [[b + shift for b in box]])


def selected_id(page) -> int | None:  # noqa: ANN001
    row = page.locator("#targets li.selected")
    return int(row.get_attribute("data-target")) if row.count() else None
