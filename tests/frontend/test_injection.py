"""Names are text, never markup: a photo, mission, basemap, team and model version named with HTML are shown as
those characters on every page that shows them (lists, pickers, map tooltips), and no element of theirs is made."""

from __future__ import annotations

import pytest

from localization.models import Target
from tests.frontend.conftest import log_in
from tests.frontend.pages import predict, synthetic_mission

pytestmark = pytest.mark.django_db(transaction=True)
HOSTILE = '<b id="pwn">bold</b><img id="pwn-img" src="x">'
INJECTED = "document.querySelectorAll('#pwn, #pwn-img').length"
# Leaflet builds a tooltip when it opens: hover every interactive shape and marker of both maps.
OPEN_TOOLTIPS = """() => {
  for (const node of document.querySelectorAll('.leaflet-interactive')) {
    node.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
  }
  return [...document.querySelectorAll('.leaflet-tooltip')].map((tip) => tip.textContent);
}"""


def shown(page, text: str) -> None:  # noqa: ANN001
    page.wait_for_function("(text) => document.body.innerText.includes(text)", arg=text)


@pytest.fixture
def mission(tmp_path_factory):  # noqa: ANN001, ANN201
    return synthetic_mission(tmp_path_factory.getbasetemp() / "synthetic-mission")


def test_names_with_html_are_shown_as_text_everywhere(live_server, page, mission) -> None:  # noqa: ANN001
    setup = mission.setup
    image = mission.drone_images[0]
    for thing, field in ((image, "original_name"), (setup.mission, "name"), (mission.basemap, "name"),
                         (setup.team, "name"), (mission.version, "name")):  # fmt: skip
        setattr(thing, field, f"{HOSTILE} {field}")
        thing.save(update_fields=[field])
    truth = mission.truth[0]
    target = Target.objects.create(
        mission=setup.mission, drone_image=image, basemap=mission.basemap,
        click_x=truth["click"][0], click_y=truth["click"][1], created_by=setup.operator,
    )  # fmt: skip
    predict(target, mission, truth["box_px"], [])

    log_in(page, live_server.url, setup.admin.username)
    page.goto(f"{live_server.url}/")
    shown(page, f"{HOSTILE} name")  # the mission's name in the list
    assert page.evaluate(INJECTED) == 0

    page.goto(f"{live_server.url}/missions/{setup.mission.id}/")
    page.locator("#drone-map img.leaflet-image-layer").wait_for()
    page.click(f"#targets li[data-target='{target.id}']")
    page.locator("#basemap-map path.leaflet-interactive").first.wait_for()
    tooltips = page.evaluate(OPEN_TOOLTIPS)
    assert any(f"drone {HOSTILE} original_name" in tip for tip in tooltips), tooltips
    assert HOSTILE in page.inner_text("body")  # the photo strip, the mission's and basemap's names
    assert page.evaluate(INJECTED) == 0

    page.goto(f"{live_server.url}/missions/{setup.mission.id}/review/")
    page.locator("#basemap-map path.leaflet-interactive").first.wait_for()
    page.evaluate(OPEN_TOOLTIPS)
    assert page.evaluate(INJECTED) == 0

    page.goto(f"{live_server.url}/console/")
    shown(page, f"{HOSTILE} name")  # the model version's name
    assert page.evaluate(INJECTED) == 0
