"""The reviewer queue in a real browser: keyboard decisions (A, R, 1-5, U, N), a correction by dragging the box,
the review history, and a decision someone else made first explained."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from localization.models import Prediction, Review, Target
from localization.review_services import review_create
from tests.frontend.conftest import log_in, screenshot
from tests.frontend.pages import predict, settled_centre, synthetic_mission

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mission(tmp_path_factory):  # noqa: ANN001, ANN201
    return synthetic_mission(tmp_path_factory.getbasetemp() / "synthetic-mission")


def predicted_targets(mission, count: int, gaps: tuple[float, ...] = (0.2,)) -> list[Target]:  # noqa: ANN001
    """`count` targets clicked by the operator and predicted at the true box, each with two more candidates (the
    i-th target's scores `gaps[i % len(gaps)]` apart: its confidence margin)."""
    targets = []
    for index in range(count):
        truth = mission.truth[index % len(mission.truth)]
        target = Target.objects.create(
            mission=mission.setup.mission, drone_image=mission.drone_images[index % len(mission.drone_images)],
            basemap=mission.basemap, click_x=truth["click"][0], click_y=truth["click"][1],
            created_by=mission.setup.operator,
        )  # fmt: skip
        box = truth["box_px"]
        others = [[v + 150 for v in box], [v + 300 for v in box]]
        targets.append(predict(target, mission, box, others, gap=gaps[index % len(gaps)]))
    return targets


def open_queue(page, live_server, mission, user=None) -> None:  # noqa: ANN001
    log_in(page, live_server.url, (user or mission.setup.reviewer).username)
    page.goto(f"{live_server.url}/missions/{mission.setup.mission.id}/review/")


def shown(page, target: Target) -> None:  # noqa: ANN001
    page.locator(f"#current-target[data-target='{target.id}']").wait_for()
    page.locator("#basemap-map .leaflet-edit-move").wait_for()


def test_a_reviewer_decides_with_the_keyboard_and_undoes_a_decision(live_server, page, mission) -> None:  # noqa: ANN001
    first, second, third = predicted_targets(mission, 3)
    open_queue(page, live_server, mission)
    shown(page, first)
    assert page.locator("#basemap-map .candidate-label").all_inner_texts() == ["1", "2", "3"]
    page.keyboard.press("a")
    shown(page, second)
    page.keyboard.press("2")  # the second candidate is the right box
    shown(page, third)
    first.refresh_from_db(), second.refresh_from_db()
    assert first.status == "approved" and second.status == "corrected"
    assert second.last_review.final_box == second.prediction.candidates[1]["box"]
    page.keyboard.press("u")  # undo: the correction is reopened by a new review, history kept
    shown(page, second)
    second.refresh_from_db()
    assert second.status == "predicted" and [r.decision for r in second.reviews.order_by("id")] == ["correct", "reopen"]
    expect(page.locator("#history li")).to_have_count(2)
    page.keyboard.press("n")  # skip to the next one in the queue
    shown(page, third)
    page.keyboard.press("r")
    shown(page, second)
    third.refresh_from_db()
    assert third.status == "rejected"
    page.keyboard.press("9")  # not a key of ours: nothing happens
    screenshot(page, "review-queue")
    page.keyboard.press("a")
    page.locator("#queue-empty").wait_for()
    assert Review.objects.filter(reviewer=mission.setup.reviewer).count() == 5


def test_dragging_the_box_then_c_saves_a_correction_in_pixels(live_server, page, mission) -> None:  # noqa: ANN001
    (target,) = predicted_targets(mission, 1)
    open_queue(page, live_server, mission)
    shown(page, target)
    assert page.locator("#save-correction").is_disabled()
    x, y = settled_centre(page, page.locator("#basemap-map .leaflet-edit-move"))
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 15, y, steps=4)
    page.mouse.move(x + 30, y, steps=4)
    page.mouse.up()
    expect(page.locator("#save-correction")).to_be_enabled()
    page.keyboard.press("c")
    page.locator("#queue-empty").wait_for()
    target.refresh_from_db()
    assert target.status == "corrected"
    old, new = target.prediction.box, target.last_review.final_box
    moved = (new[0] + new[2]) / 2 - (old[0] + old[2]) / 2
    assert moved > 2 and abs((new[1] + new[3]) / 2 - (old[1] + old[3]) / 2) < 2  # moved east, not north/south
    assert new[2] - new[0] == pytest.approx(old[2] - old[0], abs=2)


def test_the_queue_can_put_the_least_confident_prediction_first_and_remembers_it(live_server, page, mission) -> None:  # noqa: ANN001
    sure, unsure, middling = predicted_targets(mission, 3, gaps=(0.5, 0.02, 0.2))
    open_queue(page, live_server, mission)
    shown(page, sure)  # oldest first by default
    page.select_option("#review-order", "least_confident")
    shown(page, unsure)
    assert "margin 0.020" in page.inner_text("#current")
    page.keyboard.press("n")  # the review keys work again once the order is chosen
    shown(page, middling)
    page.reload()
    shown(page, middling)  # the address keeps the target shown
    assert page.input_value("#review-order") == "least_confident"  # and the browser the order
    page.keyboard.press("n")
    shown(page, sure)  # the next in that order


def test_a_decision_someone_else_made_first_is_explained(live_server, page, mission) -> None:  # noqa: ANN001
    (target,) = predicted_targets(mission, 1)
    open_queue(page, live_server, mission)
    shown(page, target)
    review_create(by=mission.setup.admin, target_id=target.id, decision="approve")
    page.keyboard.press("r")
    conflict = page.locator("#conflict")
    conflict.wait_for()
    text = conflict.inner_text()
    assert mission.setup.admin.username in text and "approved" in text and "reject was not saved" in text
    target.refresh_from_db()
    assert target.status == "approved" and target.reviews.count() == 1
    page.click("#next-after-conflict")
    page.locator("#queue-empty").wait_for()


def toast(page, words: str):  # noqa: ANN001, ANN201
    return page.locator(".toast", has_text=words)


def test_the_queue_keeps_its_place_counts_what_is_left_and_steps_with_j_and_k(live_server, page, mission) -> None:  # noqa: ANN001
    first, second, third = predicted_targets(mission, 3)
    open_queue(page, live_server, mission)
    shown(page, first)
    expect(page.locator("#queue-count")).to_have_text("3 of 3 left")
    page.keyboard.press("n")  # skip the first
    shown(page, second)
    page.keyboard.press("a")
    shown(page, third)  # the one after the decided target: the skipped one does not come straight back
    expect(page.locator("#queue-count")).to_have_text("2 of 3 left")
    page.keyboard.press("k")  # back: the approved one has left the queue, so the skipped one
    shown(page, first)
    page.keyboard.press("k")  # ... and round to the last
    shown(page, third)
    page.keyboard.press("j")
    shown(page, first)
    page.keyboard.press("j")
    shown(page, third)
    page.keyboard.press("r")
    shown(page, first)  # the queue wrapped round: now the skipped one comes back
    expect(page.locator("#queue-count")).to_have_text("1 of 3 left")


def test_keys_work_from_a_checkbox_not_while_typing_and_c_before_a_drag_says_why(live_server, page, mission) -> None:  # noqa: ANN001
    first, second = predicted_targets(mission, 2)
    open_queue(page, live_server, mission)
    shown(page, first)
    page.click("#show-heatmap")  # the checkbox keeps the focus
    assert page.evaluate("document.activeElement.id") == "show-heatmap"
    page.keyboard.press("n")
    shown(page, second)
    page.focus("#review-score-min")  # typing in a text field is typing, not a decision
    page.keyboard.press("a")
    page.keyboard.press("r")
    shown(page, second)
    assert not Review.objects.exists()
    page.click("#current")  # out of the field
    page.keyboard.press("c")  # no box dragged yet
    expect(toast(page, "Drag the box or its corners first")).to_be_visible()
    assert not Review.objects.exists()


def test_question_mark_lists_the_keys_and_nothing_is_decided_while_they_are_shown(live_server, page, mission) -> None:  # noqa: ANN001
    (target,) = predicted_targets(mission, 1)
    open_queue(page, live_server, mission)
    shown(page, target)
    page.keyboard.press("?")
    sheet = page.locator("#keys-help")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("previous target in the queue")
    expect(sheet.locator("kbd", has_text="J")).to_be_visible()
    page.keyboard.press("a")
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    target.refresh_from_db()
    assert target.status == "predicted"
    page.click("#keys-help-open")
    expect(sheet).to_be_visible()
    page.click("#keys-help-close")
    expect(sheet).to_be_hidden()


def test_a_decided_target_opens_read_only_and_can_be_reopened(live_server, page, mission) -> None:  # noqa: ANN001
    decided, waiting = predicted_targets(mission, 2)
    review_create(by=mission.setup.admin, target_id=decided.id, decision="reject")
    log_in(page, live_server.url, mission.setup.reviewer.username)
    page.goto(f"{live_server.url}/missions/{mission.setup.mission.id}/review/?target={decided.id}")
    page.locator(f"#current-target[data-target='{decided.id}']").wait_for()
    expect(page.locator("#read-only")).to_contain_text(f"Already rejected by {mission.setup.admin.username}")
    expect(page.locator("#approve")).to_be_disabled()
    page.keyboard.press("a")
    expect(toast(page, "reopen it first")).to_be_visible()
    page.click("#reopen")
    shown(page, decided)  # now editable: the box can be dragged
    expect(page.locator("#read-only")).to_be_hidden()
    expect(page.locator("#approve")).to_be_enabled()
    page.keyboard.press("a")
    shown(page, waiting)
    decided.refresh_from_db()
    assert [r.decision for r in decided.reviews.order_by("id")] == ["reject", "reopen", "approve"]


def test_the_decisions_of_the_session_and_undo_survive_a_reload(live_server, page, mission) -> None:  # noqa: ANN001
    first, second = predicted_targets(mission, 2)
    open_queue(page, live_server, mission)
    shown(page, first)
    page.keyboard.press("a")
    shown(page, second)
    page.reload()
    shown(page, second)
    expect(page.locator("#session li")).to_have_text([f"#{first.id} approved"])
    page.keyboard.press("u")
    shown(page, first)
    first.refresh_from_db()
    assert first.status == "predicted"
    expect(page.locator("#session li")).to_have_text([f"#{first.id} approved · undone"])
    expect(page.locator("#undo")).to_be_disabled()


def test_a_long_review_history_shows_the_latest_five_with_a_toggle(live_server, page, mission) -> None:  # noqa: ANN001
    (target,) = predicted_targets(mission, 1)
    for decision in ("approve", "reopen") * 4:
        review_create(by=mission.setup.admin, target_id=target.id, decision=decision)
    open_queue(page, live_server, mission)
    shown(page, target)
    expect(page.locator("#history li")).to_have_count(5)
    expect(page.locator("#history li").first).to_contain_text("reopened")  # newest first
    page.click("#history-toggle")
    expect(page.locator("#history li")).to_have_count(8)
    expect(page.locator("#history-toggle")).to_have_text("Show the latest 5")
    page.click("#history-toggle")
    expect(page.locator("#history li")).to_have_count(5)


def test_the_queue_filters_by_photo_status_and_score_and_sorts_by_score(live_server, page, mission) -> None:  # noqa: ANN001
    first, second, third = predicted_targets(mission, 3, gaps=(0.2,))
    Prediction.objects.filter(pk=second.prediction_id).update(score=0.3)
    review_create(by=mission.setup.admin, target_id=third.id, decision="approve")
    open_queue(page, live_server, mission)
    shown(page, first)
    expect(page.locator("#queue-count")).to_have_text("2 of 3 left")
    page.select_option("#review-order", "lowest_score")
    shown(page, second)
    page.select_option("#review-order", "oldest")
    shown(page, first)
    page.select_option("#review-photo", str(second.drone_image_id))
    shown(page, second)
    expect(page.locator("#queue-count")).to_have_text("1 of 1 left")
    page.select_option("#review-photo", "")
    page.fill("#review-score-min", "0.5")
    page.keyboard.press("Enter")
    shown(page, first)
    page.keyboard.press("n")
    shown(page, first)  # the low-scoring one is filtered out
    page.select_option("#review-status", "approved")
    page.locator(f"#current-target[data-target='{third.id}']").wait_for()
    expect(page.locator("#read-only")).to_be_visible()
    expect(page.locator("#queue-count")).to_have_text("1 approved of 2")
    page.reload()  # the choices are remembered
    page.locator(f"#current-target[data-target='{third.id}']").wait_for()
    assert page.input_value("#review-status") == "approved" and page.input_value("#review-score-min") == "0.5"
