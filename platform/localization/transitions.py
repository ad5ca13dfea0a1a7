"""The target status machine in one table. Every service that changes a target's status goes through `advance`.

queued -> running -> predicted -> approved | corrected | rejected
queued | running -> failed -> queued (retry)          running | queued -> queued (requeue: a lost worker)
approved | corrected | rejected -> predicted (reopen: undo a review, history kept)
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import Conflict
from localization.models import REVIEWED, Target, TargetStatus

S = TargetStatus


class Event(StrEnum):
    """What happens to a target. The review events are named like the review decisions."""

    CLAIM = "claim"  # a worker takes a queued target
    PREDICT = "predict"  # the worker stored the target's prediction
    FAIL = "fail"  # the worker (or the queue) gave up, with a reason
    RETRY = "retry"  # a user asks again for a failed target
    REQUEUE = "requeue"  # a target whose worker vanished (or whose message was lost) goes back to the queue
    APPROVE = "approve"
    CORRECT = "correct"
    REJECT = "reject"
    REOPEN = "reopen"


# event -> (the statuses it may start from, the status it leads to)
TRANSITIONS: dict[Event, tuple[frozenset[TargetStatus], TargetStatus]] = {
    Event.CLAIM: (frozenset({S.QUEUED}), S.RUNNING),
    Event.PREDICT: (frozenset({S.RUNNING}), S.PREDICTED),
    Event.FAIL: (frozenset({S.QUEUED, S.RUNNING}), S.FAILED),
    Event.RETRY: (frozenset({S.FAILED}), S.QUEUED),
    Event.REQUEUE: (frozenset({S.QUEUED, S.RUNNING}), S.QUEUED),
    Event.APPROVE: (frozenset({S.PREDICTED}), S.APPROVED),
    Event.CORRECT: (frozenset({S.PREDICTED}), S.CORRECTED),
    Event.REJECT: (frozenset({S.PREDICTED}), S.REJECTED),
    Event.REOPEN: (frozenset(REVIEWED), S.PREDICTED),
}

REVIEW_EVENTS = frozenset({Event.APPROVE, Event.CORRECT, Event.REJECT, Event.REOPEN})


def can(event: Event | str, status: str) -> bool:
    """Whether `event` may happen to a target in `status`."""
    return status in TRANSITIONS[Event(event)][0]


def events_from(status: str) -> list[Event]:
    """The events a target in `status` allows, in table order (the UI offers these actions)."""
    return [event for event, (sources, _) in TRANSITIONS.items() if status in sources]


def advance(target: Target, event: Event | str) -> tuple[TargetStatus, TargetStatus]:
    """Move `target.status` (not saved) along `event`; (before, after). Conflict naming the status otherwise."""
    event = Event(event)
    sources, after = TRANSITIONS[event]
    before = TargetStatus(target.status)
    if before not in sources:
        allowed = " or ".join(sorted(sources))
        raise Conflict(
            f"target {target.pk} is {before}: {event.value} needs it to be {allowed}",
            current_status=before.value,
        )
    target.status = after
    return before, after
