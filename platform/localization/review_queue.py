"""The reviewer queue's choices, read from a query string: the order, and which targets it holds (status, photo,
score range). Every bad value is a 400 naming its parameter; the queue itself is read in `selectors`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import InvalidInput
from core.ids import parse_id
from localization.models import TargetStatus

# oldest prediction first; the smallest confidence margin first; the lowest score first; grouped by drone photo
REVIEW_ORDERS = ("oldest", "least_confident", "lowest_score", "photo")
# predicted: waiting for review; the others: decided ones, opened read-only (a reviewer may reopen one)
QUEUE_STATUSES = (TargetStatus.PREDICTED, TargetStatus.APPROVED, TargetStatus.CORRECTED, TargetStatus.REJECTED)


@dataclass(frozen=True)
class ReviewQueue:
    """Which targets of a mission the queue holds, and in what order. Scores are the model's, in [0, 1]."""

    mission_id: int
    order: str = "oldest"
    status: str = TargetStatus.PREDICTED
    drone_image_id: int | None = None
    score_min: float | None = None
    score_max: float | None = None


def review_queue_parse(*, mission_id: int, params: Mapping[str, str]) -> ReviewQueue:
    """The queue `?order=&status=&drone_image=&score_min=&score_max=` asks for (each optional)."""
    order = params.get("order") or "oldest"
    if order not in REVIEW_ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(REVIEW_ORDERS)}, not {order!r}", field="order")
    status = params.get("status") or TargetStatus.PREDICTED
    if status not in QUEUE_STATUSES:
        names = ", ".join(str(s) for s in QUEUE_STATUSES)
        raise InvalidInput(f"status must be one of {names}, not {status!r}", field="status")
    photo = params.get("drone_image") or ""
    if photo and parse_id(photo) is None:
        raise InvalidInput(f"drone_image must be a drone image id, not {photo!r}", field="drone_image")
    score_min, score_max = _score(params, "score_min"), _score(params, "score_max")
    if score_min is not None and score_max is not None and score_min > score_max:
        raise InvalidInput(f"score_min ({score_min:g}) is above score_max ({score_max:g})", field="score_min")
    return ReviewQueue(
        mission_id=mission_id, order=order, status=str(status), drone_image_id=parse_id(photo),
        score_min=score_min, score_max=score_max,
    )  # fmt: skip


def _score(params: Mapping[str, str], name: str) -> float | None:
    raw = params.get(name) or ""
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise InvalidInput(f"{name} must be a score between 0 and 1, not {raw!r}", field=name)
    return value
