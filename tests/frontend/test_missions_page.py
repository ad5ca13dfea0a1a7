"""The missions page in a real browser: archive and unarchive (archived missions hidden unless asked for), the
GeoJSON and CVOGL exports with their progress, download link and errors; and the log-in page keeping the username
after a wrong password."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from exports import services as exports
from exports.models import ExportJob
from missions.models import Mission
from tests.frontend.conftest import log_in, screenshot
from tests.platform.builders import labelled_target, make_basemap, make_drone_image, make_model_version
from tests.platform.factories import make_mission, team_setup

pytestmark = pytest.mark.django_db(transaction=True)


def reviewed_setup():  # noqa: ANN201
    """A team whose mission has one approved target."""
    setup = team_setup()
    version = make_model_version(setup.team, "v1")
    image, basemap = make_drone_image(setup.mission), make_basemap(setup.mission)
    labelled_target(setup.mission, image, basemap, version, setup.reviewer, decision="approve", box=[10, 10, 40, 40])
    return setup


def test_archived_missions_hide_until_asked_for_and_can_be_unarchived(live_server, page) -> None:  # noqa: ANN001
    setup = team_setup()
    other = make_mission(setup.team, by=setup.operator, name="old survey")
    log_in(page, live_server.url, setup.operator.username)
    row = page.locator(f"#missions tr[data-mission='{other.id}']")
    row.locator("button.archive").click()
    row.wait_for(state="detached")
    assert Mission.objects.get(id=other.id).status == "archived"
    assert page.locator(f"#missions tr[data-mission='{setup.mission.id}']").count() == 1
    page.check("#show-archived")
    page.locator(f"#missions tr[data-mission='{other.id}'][data-status='archived']").wait_for()
    screenshot(page, "missions-archived")
    page.locator(f"#missions tr[data-mission='{other.id}'] button.unarchive").click()
    page.locator(f"#missions tr[data-mission='{other.id}'][data-status='active']").wait_for()
    assert Mission.objects.get(id=other.id).status == "active"


def test_the_geojson_export_downloads_the_missions_targets(live_server, page) -> None:  # noqa: ANN001
    setup = reviewed_setup()
    Mission.objects.filter(id=setup.mission.id).update(name="Zürich North / Block 7")
    log_in(page, live_server.url, setup.reviewer.username)
    with page.expect_download() as download:
        page.locator(f"#missions tr[data-mission='{setup.mission.id}'] button.export-geojson").click()
    assert download.value.suggested_filename == "zürich-north-block-7.geojson"  # the mission's name
    body = json.loads(Path(download.value.path()).read_text())
    assert len(body["features"]) == 1


def test_a_cvogl_export_shows_progress_then_a_download_link(live_server, page, tmp_path) -> None:  # noqa: ANN001
    setup = reviewed_setup()
    log_in(page, live_server.url, setup.operator.username)
    row = page.locator(f"#missions tr[data-mission='{setup.mission.id}']")
    row.locator("button.export-cvogl").click()
    row.locator(".export-status progress").wait_for()
    job = ExportJob.objects.get(mission=setup.mission)
    exports.export_job_claim(job_id=job.id)
    exports.export_job_progress(job_id=job.id, progress=0.5, message="writing satellite crops")
    row.locator(".export-status", has_text="writing satellite crops").wait_for()
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("manifest.json", "{}")
    exports.export_job_finish(job_id=job.id, archive_path=archive, item_count=1)
    link = row.locator("a.export-download")
    link.wait_for()
    assert "1 pairs" in link.inner_text()
    with page.expect_download() as download:
        link.click()
    assert zipfile.ZipFile(download.value.path()).namelist() == ["manifest.json"]


def test_a_cvogl_export_of_a_mission_without_reviewed_targets_says_why(live_server, page) -> None:  # noqa: ANN001
    setup = team_setup()
    log_in(page, live_server.url, setup.operator.username)
    row = page.locator(f"#missions tr[data-mission='{setup.mission.id}']")
    row.locator("button.export-cvogl").click()
    error = row.locator(".export-status .error")
    error.wait_for()
    assert "no approved or corrected targets" in error.inner_text()


def test_a_wrong_password_keeps_the_username_typed(live_server, page) -> None:  # noqa: ANN001
    setup = team_setup()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", setup.operator.username)
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    page.locator("p.error").wait_for()
    assert page.input_value("input[name=username]") == setup.operator.username
    assert page.input_value("input[name=password]") == ""
