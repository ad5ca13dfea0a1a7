"""The whole journey in a real browser against a real worker running the demo model: an operator creates a mission,
uploads a basemap and drone photos (progress, live ingest status), clicks objects and sees their boxes arrive
without a reload; a reviewer approves and corrects them with the keyboard; an admin starts fine-tuning on those
labels, watches its progress and cancels it. On the way: the workspace names the active model, the address keeps the
selected target across a reload, the queue counts what is left, and the reviewed labels leave as a CVOGL zip from
the missions page. Screenshots land in the test artifacts."""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import expect

from localization.models import Target
from missions.models import DroneImage
from registry.models import TrainingRun
from tests.frontend.conftest import log_in, screenshot
from tests.frontend.pages import click_drone
from tests.platform.factories import team_setup
from tests.workers.synthetic_mission import box_iou, mission_files, register_demo_model

GOOD_PAIRS = (0, 1)  # the demo model finds these objects (see tests/workers/test_localize.py)


def log_out(page) -> None:  # noqa: ANN001
    page.click(".logout button")
    page.wait_for_url(re.compile(r"/login/"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_operator_reviewer_admin_journey(live_server, page, celery_worker, tmp_path_factory) -> None:  # noqa: ANN001
    folder = tmp_path_factory.getbasetemp() / "journey-mission"
    manifest = mission_files(folder)
    setup = team_setup()
    register_demo_model(setup)
    base = live_server.url

    # --- operator: a mission, its basemap and photos, one click per photo
    log_in(page, base, setup.operator.username)
    page.locator("#create-mission select[name=team] option").first.wait_for(state="attached")
    page.fill("#create-mission input[name=name]", "Harbour survey")
    page.click("#create-mission button[type=submit]")
    page.wait_for_url(re.compile(r"/missions/\d+/$"))
    expect(page.locator("#active-model")).to_contain_text("demo")  # the model that will answer the clicks
    basemap = manifest["basemaps"][0]
    page.set_input_files("#upload-basemaps input[type=file]", str(folder / basemap["file"]))
    page.fill("#upload-basemaps input[name=bounds]", ",".join(str(v) for v in basemap["bounds"]))
    page.click("#upload-basemaps button[type=submit]")
    page.locator("#uploads li .ok", has_text="ingest succeeded").wait_for(timeout=180_000)
    photos = [entry for entry in manifest["drone_images"] if entry["basemap"] == 0]
    page.set_input_files("#upload-drone input[type=file]", [str(folder / entry["file"]) for entry in photos])
    page.click("#upload-drone button[type=submit]")
    expect(page.locator("#uploads li .ok", has_text="GPS from EXIF")).to_have_count(len(photos), timeout=60_000)
    for count, entry in enumerate(photos, start=1):
        image = DroneImage.objects.get(original_name=entry["file"])
        page.click(f"#drone-thumbs img[data-image='{image.id}']")
        page.locator("#drone-name", has_text=entry["file"]).wait_for()
        click_drone(page, image, *entry["click"])
        expect(page.locator("#targets li[data-status]")).to_have_count(count)
    predicted = page.locator("#targets li[data-status='predicted']")
    expect(predicted).to_have_count(len(photos), timeout=240_000)  # the page follows the worker, no reload
    targets = {t.drone_image.original_name: t for t in Target.objects.select_related("prediction", "drone_image")}
    for index in GOOD_PAIRS:
        entry = photos[index]
        assert box_iou(targets[entry["file"]].prediction.box, entry["box_px"]) > 0.5
    first = targets[photos[0]["file"]].id
    page.click(f"#targets li[data-target='{first}']")
    page.wait_for_url(re.compile(rf"[?&]target={first}\b"))
    page.reload()  # the address holds the selection
    page.locator(f"#targets li.selected[data-target='{first}']").wait_for()
    page.locator("#basemap-map img.heatmap").wait_for()
    expect(page.locator("#toasts .toast")).to_have_count(0, timeout=15_000)  # the "box found" notes have faded
    screenshot(page, "journey-1-workspace")
    log_out(page)

    # --- reviewer: approve, pick a candidate, undo, approve the rest
    log_in(page, base, setup.reviewer.username)
    mission_id = targets[photos[0]["file"]].mission_id
    page.goto(f"{base}/missions/{mission_id}/review/")
    expect(page.locator("#queue-count")).to_have_text(f"{len(photos)} of {len(photos)} left")
    decided: list[str] = []
    for key in ("a", "2", "u", "a", "a", "a"):
        page.locator("#basemap-map .leaflet-edit-move").wait_for()
        shown = page.locator("#current-target").get_attribute("data-target")
        page.keyboard.press(key)
        if key == "u":  # the last decision undone: that target is back on screen
            page.locator(f"#current-target[data-target='{decided.pop()}']").wait_for()
        else:
            decided.append(shown)
            page.locator(f"#current-target:not([data-target='{shown}']), #queue-empty").first.wait_for()
    page.locator("#queue-empty").wait_for()
    statuses = sorted(Target.objects.values_list("status", flat=True))
    assert statuses == ["approved"] * len(photos)
    screenshot(page, "journey-2-review")
    download_labels(page, base, mission_id, len(photos))
    log_out(page)

    # --- admin: fine-tune on those labels, watch it, cancel it
    log_in(page, base, setup.admin.username)
    page.goto(f"{base}/console/?team={setup.team.id}")
    start_and_cancel_fine_tune(page)
    run = TrainingRun.objects.get()
    assert run.status == "cancelled" and len(run.dataset_label_ids) == len(photos)
    screenshot(page, "journey-3-console")


def download_labels(page, base: str, mission_id: int, count: int) -> None:  # noqa: ANN001
    """From the missions page: the CVOGL zip of the reviewed labels, made by the worker, then downloaded."""
    page.goto(f"{base}/")
    row = page.locator(f"#missions tr[data-mission='{mission_id}']")
    row.locator("button.export-cvogl").click()
    link = row.locator("a.export-download")
    link.wait_for(timeout=120_000)
    assert f"{count} pairs" in link.inner_text()
    with page.expect_download() as download:
        link.click()
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert sum(bool(re.search(r"(^|/)query/[^/]+$", name)) for name in names) == count, names


def start_and_cancel_fine_tune(page) -> None:  # noqa: ANN001
    """Start a long fine-tune from the console, see it train (a determinate progress bar), cancel it."""
    page.on("dialog", lambda dialog: dialog.accept())  # the cancel confirmation
    page.locator("#start-run select[name=base_version] option").first.wait_for(state="attached")
    page.fill("#start-run input[name=epochs]", "50")
    page.fill("#start-run input[name=batch_size]", "1")
    page.click("#start-run button[type=submit]")
    row = page.locator("#runs tr[data-run]").first
    row.locator(".run-progress progress[value]").wait_for(timeout=180_000)  # training: steps are counted
    row.locator("button.cancel").click()
    page.locator("#runs tr[data-run][data-status='cancelled']").wait_for(timeout=60_000)
