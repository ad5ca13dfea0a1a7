"""The "Models & team" page in a real browser: model versions (activate, roll back), fine-tuning runs (start, live
progress, curves, cancel, metrics before/after) and members and roles, as an admin and as a reviewer."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership, Role
from core.models import JobStatus
from registry.comparison import paired_comparison, set_info
from registry.models import ModelActivation, TrainingRun
from registry.services import model_version_activate_unchecked
from registry.training_runs import training_run_mark_cancelled, training_run_progress
from tests.conftest import drain_queue
from tests.frontend.conftest import log_in, screenshot
from tests.frontend.training_runs import METRICS, finished_run, make_training_run_row
from tests.platform.builders import labelled_target, make_basemap, make_drone_image, make_model_version
from tests.platform.factories import add_member, make_user, team_setup

pytestmark = pytest.mark.django_db(transaction=True)


def team_with_versions():  # noqa: ANN201
    """team_setup() with v1 then v2 activated in turn (so v1 is what a rollback returns to) and a third, v3."""
    setup = team_setup()
    setup.v1 = make_model_version(setup.team, "v1")
    setup.v2 = make_model_version(setup.team, "v2", parent=setup.v1)
    setup.v3 = make_model_version(setup.team, "v3", parent=setup.v2)
    for version in (setup.v1, setup.v2):
        model_version_activate_unchecked(version=version, team=setup.team, by=setup.admin)
    return setup


def open_console(page, live_server, user, query: str = "") -> None:  # noqa: ANN001
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of activate, roll back, cancel, remove
    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/console/{query}")
    page.locator("#versions tr[data-version]").first.wait_for()


def active_row(page):  # noqa: ANN001, ANN201
    return page.locator("#versions tr:has(.active-marker)")


def run_history() -> list[dict]:
    """What the fine-tune worker writes: train steps (loss) and one val entry per epoch (metrics)."""
    train = [
        {"kind": "train", "epoch": s // 30, "step": s, "total_steps": 120, "loss": 2 / s} for s in (10, 20, 40, 50)
    ]
    val = [{"kind": "val", "epoch": e, "step": 30 * (e + 1), **METRICS} for e in (0, 1)]
    return [*train[:2], val[0], *train[2:], val[1]]


def make_run(setup, **fields: object) -> TrainingRun:  # noqa: ANN001
    """A run of team_with_versions()'s team from v2 (unless `base_version` says otherwise)."""
    return make_training_run_row(setup, **{"base_version": setup.v2, **fields})


def test_an_admin_activates_a_version_and_rolls_back(live_server, page) -> None:  # noqa: ANN001
    setup = team_with_versions()
    open_console(page, live_server, setup.admin)
    assert re.search(rf"\?team={setup.team.id}\b", page.url)  # the team is remembered in the address
    assert active_row(page).get_attribute("data-version") == str(setup.v2.id)
    assert "50.0 %" in page.inner_text(f"#versions tr[data-version='{setup.v3.id}']")  # acc@0.5 of the version
    assert "from v2" in page.inner_text(f"#versions tr[data-version='{setup.v3.id}']")  # its parent
    page.click(f"#versions tr[data-version='{setup.v3.id}'] button.activate")
    page.locator(f"#versions tr[data-version='{setup.v3.id}'] .active-marker").wait_for()
    assert active_row(page).count() == 1
    setup.team.refresh_from_db()
    assert setup.team.active_model_id == setup.v3.id
    assert ModelActivation.objects.filter(team=setup.team).latest("id").activated_by == setup.admin
    rollback = page.locator("#rollback")
    rollback.filter(has_text="Roll back to v2").wait_for()
    rollback.click()
    page.locator(f"#versions tr[data-version='{setup.v2.id}'] .active-marker").wait_for()
    setup.team.refresh_from_db()
    assert setup.team.active_model_id == setup.v2.id
    assert ModelActivation.objects.filter(team=setup.team).latest("id").reason == "rollback"
    page.locator("#rollback").filter(has_text="Roll back to v1").wait_for()  # the history goes further back
    page.locator(".toast.success").filter(has_text="v2 is active again").wait_for()
    screenshot(page, "console-versions")


def test_a_reviewer_sees_models_runs_and_members_read_only_and_the_api_refuses_them(live_server, page) -> None:  # noqa: ANN001
    setup = team_with_versions()
    make_run(setup, status=JobStatus.RUNNING, step=5, total_steps=50, started_at=timezone.now())
    shared = make_model_version(None, "shared-base")
    add_member(setup.other_team, Role.ADMIN, user=setup.reviewer)  # an admin elsewhere: the picker offers both
    open_console(page, live_server, setup.reviewer, f"?team={setup.team.id}")
    assert page.locator("#versions tr[data-version]").count() == 4  # the team's three and the shared one
    assert page.locator("button.activate").count() == 0
    assert page.locator("#rollback").is_disabled()
    assert "only team admins can roll back" in page.get_attribute("#rollback", "title")
    page.locator("#runs tr[data-run] progress").wait_for()
    assert page.locator("#runs button.cancel").count() == 0
    page.locator("#members tr[data-member]").first.wait_for()
    assert page.locator("#members select.role").count() == 0 and page.locator("#members button.remove").count() == 0
    assert page.locator("#add-member button[type=submit]").is_disabled()
    # The page hides what a reviewer cannot do; the API refuses it anyway, and the page says why.
    page.evaluate("document.querySelectorAll('#start-run [disabled]').forEach((c) => c.disabled = false)")
    page.click("#start-run button[type=submit]")
    page.locator(".toast.error").filter(has_text="only team admins can start fine-tuning").wait_for()
    assert TrainingRun.objects.count() == 1
    page.select_option("#team-picker", str(setup.other_team.id))
    page.locator(f"#versions tr[data-version='{shared.id}'] button.activate").wait_for()
    assert re.search(rf"\?team={setup.other_team.id}\b", page.url)
    assert page.locator("#versions tr[data-version]").count() == 1  # another team's versions are not offered
    page.reload()
    page.locator(f"#versions tr[data-version='{shared.id}'] button.activate").wait_for()
    assert page.input_value("#team-picker") == str(setup.other_team.id)


def test_a_running_run_shows_live_progress_and_curves_and_is_cancelled(live_server, page) -> None:  # noqa: ANN001
    setup = team_with_versions()
    run = make_run(
        setup, status=JobStatus.RUNNING, epoch=2, step=50, total_steps=120, loss=0.4321, eta_s=95.0, progress=50 / 120,
        history=run_history(), started_at=timezone.now(), message="training: epoch 2/4, step 50/120, loss 0.4321",
    )  # fmt: skip
    open_console(page, live_server, setup.admin)
    row = page.locator(f"#runs tr[data-run='{run.id}']")
    bar = row.locator("progress")
    bar.wait_for()
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("50", "120")
    assert "epoch 2/4" in row.inner_text() and "loss 0.4321" in row.inner_text()
    assert "ETA 1 min 35 s" in row.inner_text()
    row.click()
    detail = page.locator(f"#run-detail[data-run='{run.id}']")
    detail.wait_for()
    assert detail.locator("[data-chart='training loss'] polyline").count() == 1
    assert detail.locator("[data-chart='validation'] polyline").count() == 3  # acc@0.25, acc@0.5, mIoU
    assert detail.locator("[data-chart='centre error'] polyline").count() == 1
    legend = detail.locator("[data-chart='validation'] .plot-legend text").all_text_contents()
    assert legend == ["acc@0.25", "acc@0.5", "mIoU"]
    loss_points = detail.locator("[data-chart='training loss'] polyline").get_attribute("points").split()
    assert len(loss_points) == 4
    assert f"run={run.id}" in page.url

    # The worker moves on: the page follows without a reload, curves included.
    later = {"kind": "train", "epoch": 2, "step": 90, "total_steps": 120, "loss": 0.3}
    training_run_progress(run_id=run.id, epoch=3, step=90, total_steps=120, loss=0.3, eta_s=30.0, history=[later])
    row.locator("progress[value='90']").wait_for()
    # waited for from Python: the page's CSP (no 'unsafe-eval') forbids the string predicates wait_for_function polls
    five_points = re.compile(r"^\S+( \S+){4}$")
    expect(page.locator("[data-chart='training loss'] polyline").first).to_have_attribute("points", five_points)
    assert "ETA 30 s" in row.inner_text()
    screenshot(page, "console-run-running")

    row.locator("button.cancel").click()
    row.locator(".cancelling").wait_for()
    run.refresh_from_db()
    assert run.cancel_requested and run.status == JobStatus.RUNNING
    assert row.locator("button.cancel").is_disabled()
    training_run_mark_cancelled(run_id=run.id)  # the worker stops at its next step
    row.locator(".badge.cancelled").wait_for()
    assert row.locator(".cancelling").count() == 0 and row.locator("button.cancel").count() == 0


def test_finished_runs_show_metrics_before_and_after_their_version_and_a_failure_reason(live_server, page) -> None:  # noqa: ANN001
    setup = team_with_versions()
    now = timezone.now()
    failed = make_run(
        setup, status=JobStatus.FAILED, error="fine-tuning needs labels on at least two drone images", finished_at=now
    )
    held_out = set_info("held-out", "held-out labels (never trained on)", range(30))
    before = {**METRICS, "n": 30, "set": held_out}
    better = {**before, "acc@0.5": 0.55, "center_px": 12.0}
    base_iou, new_iou = {i: 0.9 if i < 12 else 0.1 for i in range(30)}, {i: 0.9 if i < 17 else 0.1 for i in range(30)}
    done = make_run(
        setup, status=JobStatus.SUCCEEDED, progress=1.0, history=run_history(), base_metrics=before,
        new_metrics=better, message="registered v2+ft", finished_at=now,
        comparison=paired_comparison(base_iou, new_iou, held_out, min_n=20),
        forgetting={
            "measured": True, "set": set_info("base-val", "SynthDroneAerial val, its first 200 pairs", range(200)),
            "n": 200, "base": {"acc@0.5": 0.5}, "new": {"acc@0.5": 0.47}, "lost": 0.03, "summary": "",
        },
    )  # fmt: skip
    result = make_model_version(setup.team, "v2+ft", parent=setup.v2)
    result.training_run, result.metrics = done, better
    result.save(update_fields=["training_run", "metrics"])
    open_console(page, live_server, setup.admin)
    failed_row = page.locator(f"#runs tr[data-run='{failed.id}']")
    assert "at least two drone images" in failed_row.locator(".run-error").inner_text()
    assert "v2+ft" in page.inner_text(f"#runs tr[data-run='{done.id}']")
    page.click(f"#versions tr[data-version='{result.id}'] a:has-text('run #{done.id}')")  # lineage link to the run
    detail = page.locator(f"#run-detail[data-run='{done.id}']")
    detail.wait_for()
    assert detail.locator(".result-version").inner_text() == "v2+ft"
    acc = detail.locator("tr[data-metric='acc@0.5']").inner_text()
    assert "40.0 %" in acc and "55.0 %" in acc and "+15.0 pts" in acc and "n = 30" in acc
    heading = detail.locator("table.metrics-compare th").first.text_content()
    assert "held-out labels (never trained on) (n = 30)" in heading
    assert detail.locator(".metric.weak").count() == 0  # 30 labels: enough
    assert "-9.5 px" in detail.locator("tr[data-metric='center_px']").inner_text()
    verdict = detail.locator("#comparison").inner_text()
    assert "5 better, 0 worse of 30 held-out labels" in verdict and "no difference beyond noise" in verdict
    forgot = detail.locator("#forgetting").inner_text()
    assert "SynthDroneAerial val, its first 200 pairs" in forgot and "50.0 % → 47.0 % (−3.0 pts) n = 200" in forgot
    assert detail.locator(".plot polyline").count() == 5
    screenshot(page, "console-run-finished")


def test_the_learning_curve_pairs_each_runs_base_and_new_version_on_its_own_held_out_labels(live_server, page) -> None:  # noqa: ANN001
    setup = team_with_versions()
    hits = (set(range(12)), set(range(18)))  # the new version hits 6 more of 30 labels, and none fewer
    first, ft1, set1 = finished_run(setup, setup.v2, "v2+ft1", [11, 12, 13], range(30), hits)
    model_version_activate_unchecked(version=ft1, team=setup.team, reason="auto-promote")
    hits = (set(range(100, 112)), set(range(100, 110)) | set(range(112, 118)))  # 6 better, 2 worse, 16 the same
    second, _, set2 = finished_run(setup, ft1, "v2+ft2", list(range(11, 18)), range(100, 124), hits)
    failed = make_run(setup, dataset_label_ids=list(range(11, 19)), status=JobStatus.FAILED, error="CUDA out of memory")
    open_console(page, live_server, setup.admin)
    curve = page.locator("#learning-curve")
    rows = curve.locator("tr[data-run]")
    rows.nth(2).wait_for()
    assert [rows.nth(i).get_attribute("data-run") for i in range(3)] == [str(r.id) for r in (first, second, failed)]
    one, two, three = (rows.nth(i).inner_text() for i in range(3))
    assert "0 → 3" in one and "40.0 % n = 30" in one and "60.0 % n = 30" in one and "+20.0 pts" in one
    assert set1["id"] in one and "held-out labels (never trained on)" in one
    assert "3 → 7" in two and "50.0 % n = 24" in two and "66.7 % n = 24" in two and set2["id"] in two  # base: ft1
    assert three.count("not measured: the run failed") == 2
    series = curve.locator("[data-chart='learning curve'] .plot-series")  # one pair per run with both numbers
    assert [series.nth(i).get_attribute("data-series") for i in range(series.count())] == [
        f"run #{first.id}", f"run #{second.id}",
    ]  # fmt: skip
    tips = series.nth(0).locator("circle title").all_text_contents()
    assert tips == [
        f"run #{first.id}, base v2, trained on 0 labels: acc@0.5 40.0 % on n = 30 "
        f"(held-out labels (never trained on), {set1['id']})",
        f"run #{first.id}, new v2+ft1, trained on 3 labels: acc@0.5 60.0 % on n = 30 "
        f"(held-out labels (never trained on), {set1['id']})",
    ]
    assert "n = 24" in series.nth(1).locator("circle title").first.text_content()
    assert f"run #{failed.id} base: not measured: the run failed" in curve.locator("#curve-missing").inner_text()
    assert not any(word in curve.inner_html() for word in ("NaN", "null", "undefined", "Infinity"))
    curve.locator("table").scroll_into_view_if_needed()
    screenshot(page, "console-learning-curve")

    rows.nth(1).locator("a").click()  # the run's detail: the paired comparison in words, and kept the base
    detail = page.locator(f"#run-detail[data-run='{second.id}']")
    detail.wait_for()
    paired = detail.locator("#paired-outcome").inner_text()
    assert "better on 6 of 24 held-out labels, worse on 2, the same on 16" in paired
    assert "Kept the base (v2+ft1): v2+ft2 was never made the team's active model" in detail.inner_text()
    assert "null" not in detail.inner_text()  # no forgetting measured: nothing said, not "null"
    detail.locator("#comparison").scroll_into_view_if_needed()
    screenshot(page, "console-run-outcome")
    rows.nth(0).locator("a").click()
    detail = page.locator(f"#run-detail[data-run='{first.id}']")
    detail.wait_for()
    paired = detail.locator("#paired-outcome").inner_text()
    assert "better on 6 of 30 held-out labels, worse on 0, the same on 24" in paired
    assert "Promoted: v2+ft1 became the team's active model (auto-promoted" in detail.locator("#promotion").inner_text()


def test_numbers_on_too_few_labels_are_greyed_and_activating_on_them_is_cautioned(live_server, page) -> None:  # noqa: ANN001
    setup = team_with_versions()
    held_out = set_info("held-out", "held-out labels (never trained on)", range(4))
    run = make_run(
        setup, status=JobStatus.SUCCEEDED, progress=1.0, finished_at=timezone.now(),
        base_metrics={**METRICS, "n": 4, "set": held_out},
        new_metrics={**METRICS, "acc@0.5": 1.0, "n": 4, "set": held_out},
        comparison=paired_comparison(dict.fromkeys(range(4), 0.1), dict.fromkeys(range(4), 0.9), held_out, min_n=20),
    )  # fmt: skip
    weak = make_model_version(setup.team, "v2+ft-small", parent=setup.v2)
    weak.training_run, weak.metrics = run, run.new_metrics
    weak.save(update_fields=["training_run", "metrics"])
    messages = []
    page.on("dialog", lambda dialog: messages.append(dialog.message))
    open_console(page, live_server, setup.admin)
    row = page.locator(f"#versions tr[data-version='{weak.id}']")
    assert row.locator(".metric.weak").count() == 4 and "100.0 % n = 4" in row.inner_text()
    assert "held-out labels (never trained on)" in row.inner_text() and held_out["id"] in row.inner_text()
    assert "fewer than the 20" in row.locator(".metric.weak").first.get_attribute("title")
    v1 = page.locator(f"#versions tr[data-version='{setup.v1.id}']")
    assert "n = ?" in v1.inner_text() and "not recorded" in v1.inner_text()  # a checkpoint that did not say
    row.locator("button.activate").click()
    row.locator(".active-marker").wait_for()
    assert "Caution: the comparison with its base is weak: 4 held-out labels, fewer than the 20" in messages[0]


def test_an_admin_starts_fine_tuning_from_the_form(live_server, page, broker_queues) -> None:  # noqa: ANN001
    setup = team_with_versions()
    image, basemap = make_drone_image(setup.mission), make_basemap(setup.mission)
    labelled_target(setup.mission, image, basemap, setup.v2, setup.reviewer, decision="approve", box=[10, 10, 50, 40])
    open_console(page, live_server, setup.admin)
    assert page.input_value("#start-run select[name=base_version]") == str(setup.v2.id)  # the active one
    page.select_option("#start-run select[name=base_version]", str(setup.v1.id))
    page.fill("#start-run input[name=epochs]", "3")
    page.fill("#start-run input[name=batch_size]", "4")
    page.fill("#start-run input[name=lr]", "0.0002")
    page.fill("#start-run input[name=replay]", "0.25")
    page.click("#start-run button[type=submit]")
    page.locator("#runs tr[data-run] .badge.queued").wait_for()
    run = TrainingRun.objects.get()
    assert run.base_version == setup.v1
    assert run.params == {"epochs": 3, "steps": None, "batch_size": 4, "lr": 0.0002, "replay": 0.25}
    assert drain_queue("gpu") == [("workers.fine_tune", [run.id])]
    page.locator(f"#run-detail[data-run='{run.id}']").wait_for()
    assert "25 % replay of the base data" in page.inner_text(f"#run-detail[data-run='{run.id}']")
    page.click("#start-run button[type=submit]")  # a second run while one is queued: the API's 409, in words
    page.locator(".toast.error").filter(has_text=f"training run {run.id} is still queued").wait_for()


def test_an_admin_manages_members_and_roles(live_server, page) -> None:  # noqa: ANN001
    setup = team_setup()
    make_model_version(setup.team, "v1")
    newcomer = make_user("newcomer")
    open_console(page, live_server, setup.admin)
    page.fill("#add-member input[name=username]", "nobody-here")
    page.click("#add-member button[type=submit]")
    page.locator(".toast.error").filter(has_text="no user named 'nobody-here'").wait_for()
    page.fill("#add-member input[name=username]", "newcomer")
    page.select_option("#add-member select[name=role]", "reviewer")
    page.click("#add-member button[type=submit]")
    row = page.locator("#members tr[data-username='newcomer']")
    row.wait_for()
    assert Membership.objects.get(team=setup.team, user=newcomer).role == Role.REVIEWER

    row.locator("select.role").select_option("admin")
    page.locator(".toast.success").filter(has_text="newcomer is now admin").wait_for()
    assert Membership.objects.get(team=setup.team, user=newcomer).role == Role.ADMIN
    page.reload()
    assert page.locator("#members tr[data-username='newcomer'] select.role").input_value() == "admin"

    operator = page.locator(f"#members tr[data-username='{setup.operator.username}']")
    operator.locator("button.remove").click()
    operator.wait_for(state="detached")
    assert not Membership.objects.filter(team=setup.team, user=setup.operator).exists()

    Membership.objects.filter(team=setup.team, user=newcomer).delete()  # the admin is the last admin again
    page.reload()
    me = page.locator(f"#members tr[data-username='{setup.admin.username}']")
    me.locator("select.role").select_option("operator")
    page.locator(".toast.error").filter(has_text="a team must keep at least one admin").wait_for()
    assert me.locator("select.role").input_value() == "admin"  # the select shows what is stored
    assert Membership.objects.get(team=setup.team, user=setup.admin).role == Role.ADMIN
    screenshot(page, "console-members")


def test_the_chart_module_draws_one_polyline_per_series_with_data_and_never_a_nan(live_server, page) -> None:  # noqa: ANN001
    setup = team_setup()
    log_in(page, live_server.url, setup.admin.username)
    page.goto(f"{live_server.url}/console/")
    drawn = page.evaluate(
        """async () => {
          const { lineChart, niceTicks } = await import("/static/frontend/js/plot.js");
          const cases = {
            empty: [],
            nothing: [{ name: "a", points: [] }],
            one: [{ name: "a", points: [[3, 0.5]] }],
            flat: [{ name: "a", points: [[0, 2], [1, 2]] }, { name: "b", points: [[0, 2], [5, 2]] }],
            gaps: [{ name: "a", points: [[0, NaN], [1, null], [2, -1], [3, Infinity], [4, 1e-4]] }],
          };
          const out = {};
          for (const [name, series] of Object.entries(cases)) {
            const svg = lineChart(series, { xLabel: "step", yLabel: "loss" });
            out[name] = { polylines: svg.querySelectorAll("polyline").length, html: svg.outerHTML };
          }
          out.ticks = niceTicks(0, 1, 5);
          return out;
        }"""
    )
    assert {name: drawn[name]["polylines"] for name in ("empty", "nothing", "one", "flat", "gaps")} == {
        "empty": 0, "nothing": 0, "one": 1, "flat": 2, "gaps": 1,
    }  # fmt: skip
    assert "no data yet" in drawn["empty"]["html"]
    assert not any(
        "NaN" in drawn[name]["html"] or "Infinity" in drawn[name]["html"] for name in drawn if name != "ticks"
    )
    assert drawn["ticks"] == [0, 0.2, 0.4, 0.6, 0.8, 1]
