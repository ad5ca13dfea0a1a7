"""Writes of reviews: append-only decisions on a target, made under a row lock so racing reviewers cannot both win.

Rules: reviewers and admins review; a reviewer never reviews a target they created (admins may, e.g. in a
one-person team); approve / correct / reject a predicted target; reopen (undo) a reviewed one. A correction is
a final box in basemap pixels or the index of one of the prediction's candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.models import Role
from accounts.permissions import require_role
from core.errors import Conflict, InvalidInput, PermissionDenied
from localization.lonlat_boxes import lonlat_box_to_pixels, one_of
from localization.models import Prediction, Review, Target, TargetStatus
from localization.pixels import check_box_inside
from localization.selectors import target_get
from localization.transitions import REVIEW_EVENTS, TRANSITIONS, Event, advance, can
from missions.georef import Georef

MAX_COMMENT = 4000
PAST = {Event.APPROVE: "approved", Event.CORRECT: "corrected", Event.REJECT: "rejected", Event.REOPEN: "reopened"}


@transaction.atomic
def review_create(
    *,
    by: AbstractBaseUser,
    target_id: int,
    decision: str,
    final_box: Sequence[float] | None = None,
    candidate: int | None = None,
    comment: str = "",
    expected_status: str | None = None,
    final_box_lonlat: Sequence[float] | None = None,
) -> Review:
    """A decision on a target; the target moves along it. `expected_status` is the status the reviewer saw: when
    the target has moved on since, or another reviewer decided first, Conflict (409) names the latest review."""
    target = target_get(user=by, target_id=target_id, field="target")
    role = require_role(by, target.mission.team_id, Role.REVIEWER, "review targets")
    if role == Role.REVIEWER and target.created_by_id == by.pk:
        raise PermissionDenied("you created this target, so another reviewer or a team admin must review it")
    event = _event(decision)
    one_of(final_box, final_box_lonlat, "final_box")
    if final_box_lonlat is not None:
        final_box = lonlat_box_to_pixels(final_box_lonlat, "final_box_lonlat", target.basemap)
    final_box = _check_box_input(event, final_box, candidate, target)
    comment = _check_comment(comment)
    expected = _check_expected(expected_status)
    target = _lock(target_id)  # a racing reviewer waits here until the first one commits, then sees its decision
    _check_fresh(target, event, expected)
    before, after = advance(target, event)
    box, box_geojson = _final_box(event, final_box, candidate, target)
    review = Review.objects.create(
        target=target, prediction=target.prediction, reviewer=by, decision=event.value, final_box=box,
        final_box_geojson=box_geojson, candidate=candidate, comment=comment, status_before=before, status_after=after,
    )  # fmt: skip
    target.last_review = review
    target.save(update_fields=["status", "last_review", "updated_at"])
    return review


def review_summary(review: Review | None) -> dict[str, object] | None:
    """Who decided what and when, for conflict messages."""
    if review is None:
        return None
    return {
        "id": review.id,
        "reviewer": review.reviewer.get_username() if review.reviewer else None,
        "decision": review.decision,
        "status_after": review.status_after,
        "created_at": review.created_at.isoformat().replace("+00:00", "Z"),
    }


def _event(decision: str) -> Event:
    if decision not in {event.value for event in REVIEW_EVENTS}:
        raise InvalidInput("decision must be one of approve, correct, reject, reopen", field="decision")
    return Event(decision)


def _check_box_input(
    event: Event, final_box: Sequence[float] | None, candidate: int | None, target: Target
) -> list[float] | None:
    """A correction takes exactly one of final_box (inside the basemap, positive size) and candidate."""
    if event != Event.CORRECT:
        for field, value in (("final_box", final_box), ("candidate", candidate)):
            if value is not None:
                raise InvalidInput(f"{field} is only for a correction (decision correct)", field=field)
        return None
    if final_box is None and candidate is None:
        raise InvalidInput("a correction needs a final_box (or the index of a candidate)", field="final_box")
    if final_box is not None and candidate is not None:
        raise InvalidInput("give either final_box or candidate, not both", field="final_box")
    if final_box is None:
        return None
    basemap = target.basemap
    return check_box_inside(final_box, "final_box", width=basemap.width, height=basemap.height)


def _check_comment(comment: str | None) -> str:
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment is longer than {MAX_COMMENT} characters", field="comment")
    return comment


def _check_expected(expected_status: str | None) -> TargetStatus | None:
    if expected_status in (None, ""):
        return None
    if expected_status not in TargetStatus.values:
        raise InvalidInput(f"expected_status must be one of {', '.join(TargetStatus.values)}", field="expected_status")
    return TargetStatus(expected_status)


def _lock(target_id: int) -> Target:
    """The target row, locked. Its relations load afterwards, in fresh queries: joined into a locking query that
    waited for a racing reviewer, PostgreSQL would return them as they were before that reviewer's commit."""
    target = Target.objects.select_for_update().filter(pk=target_id).first()
    if target is None:
        raise InvalidInput(f"no target {target_id} in your teams", field="target")
    return target


def _check_fresh(target: Target, event: Event, expected: TargetStatus | None) -> None:
    """Conflict when the target is not where the reviewer saw it, or the decision does not apply to its status."""
    if (expected is None or target.status == expected) and can(event, target.status):
        return
    latest = target.last_review
    if latest is not None and latest.status_after == target.status:
        who = latest.reviewer.get_username() if latest.reviewer else "a former member"
        message = f"{who} already {PAST[Event(latest.decision)]} this target (it is now {target.status})"
    else:
        message = f"target {target.pk} is {target.status}"
    if not can(event, target.status):
        message += f"; only a {_sources(event)} target can be {PAST[event]}"
    raise Conflict(message, current_status=target.status, latest_review=review_summary(latest))


def _sources(event: Event) -> str:
    return " or ".join(sorted(TRANSITIONS[event][0]))


def _final_box(
    event: Event, final_box: list[float] | None, candidate: int | None, target: Target
) -> tuple[list[float] | None, dict | None]:
    """The label the decision gives: (box in basemap pixels, GeoJSON Polygon in lon/lat), or (None, None)."""
    prediction = target.prediction
    if event == Event.APPROVE:
        return _prediction_box(prediction, target)
    if event != Event.CORRECT:
        return None, None
    if candidate is not None:
        final_box = _candidate_box(prediction, candidate)
    return final_box, Georef.of(target.basemap).box_geojson(final_box)


def _prediction_box(prediction: Prediction | None, target: Target) -> tuple[list[float], dict]:
    if prediction is None:
        raise Conflict(f"target {target.pk} has no prediction to approve", current_status=target.status)
    return list(prediction.box), prediction.box_geojson


def _candidate_box(prediction: Prediction | None, candidate: int) -> list[float]:
    count = len(prediction.candidates) if prediction else 0
    if not 0 <= candidate < count:
        raise InvalidInput(
            f"candidate must be the index of one of the prediction's {count} candidates", field="candidate"
        )
    return list(prediction.candidates[candidate]["box"])
