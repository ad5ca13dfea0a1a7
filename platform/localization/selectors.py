"""Reads of targets, predictions and reviews, scoped to the user's teams (another team's objects: 404)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import FloatField, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce

from accounts.selectors import team_ids_for
from core.errors import InvalidInput, NotFound
from localization import review_queue
from localization.models import Prediction, PredictionBatch, Review, Target, TargetStatus
from localization.review_queue import ReviewQueue
from missions.models import DroneImage
from registry.models import ModelVersion

TARGET_RELATED = ("created_by", "prediction__model_version", "last_review__reviewer")


def targets_for(user: AbstractBaseUser) -> QuerySet[Target]:
    """The user's teams' targets, newest first, with their latest prediction and review joined in."""
    return (
        Target.objects.filter(mission__team_id__in=team_ids_for(user))
        .select_related(*TARGET_RELATED)
        .order_by("-created_at", "-id")
    )


def targets_with_history(user: AbstractBaseUser) -> QuerySet[Target]:
    """`targets_for` plus every review of each target (newest first) for the detail view."""
    reviews = Review.objects.select_related("reviewer").order_by("-created_at", "-id")
    return targets_for(user).prefetch_related(Prefetch("reviews", queryset=reviews))


def target_get(*, user: AbstractBaseUser, target_id: int, field: str | None = None) -> Target:
    """One of the user's teams' targets. Unknown or foreign: 404, or 400 naming `field` for a body reference."""
    target = targets_for(user).select_related("mission", "basemap").filter(pk=target_id).first()
    if target is None:
        if field:
            raise InvalidInput(f"no target {target_id} in your teams", field=field)
        raise NotFound("not found")
    return target


REVIEW_ORDERS = review_queue.REVIEW_ORDERS
NO_MARGIN = 2.0  # sorts after every real margin and score (they lie in [0, 1])
# Each order's sort key (`rank`), then the oldest first within one rank.
QUEUE_RANKS = {
    "oldest": lambda: Value(0.0),
    "least_confident": lambda: Coalesce("prediction__margin", Value(NO_MARGIN)),
    "lowest_score": lambda: Coalesce("prediction__score", Value(NO_MARGIN)),
    "photo": lambda: Cast("drone_image_id", FloatField()),
}
QUEUE_ORDER = ("rank", "created_at", "id")
QUEUE_ORDER_REVERSED = ("-rank", "-created_at", "-id")


def target_next_for_review(
    *, user: AbstractBaseUser, mission_id: int, after_id: int | None = None, order: str = "oldest",
    before_id: int | None = None, queue: ReviewQueue | None = None,
) -> Target | None:  # fmt: skip
    """The next target of the reviewer queue (by default: the predicted targets of the mission that the user did
    not create, the oldest first; `order` or `queue` choose another order and which targets it holds). With
    `after_id` (the target just skipped or decided), the next one after it in that order, wrapping round to the
    first; with `before_id`, the one before it, wrapping round to the last."""
    if order not in REVIEW_ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(REVIEW_ORDERS)}", field="order")
    queue = queue or ReviewQueue(mission_id=mission_id, order=order)
    targets = review_queue_targets(user=user, queue=queue)
    backwards = before_id is not None
    from_id = before_id if backwards else after_id
    position = _position(from_id, queue)
    if backwards:
        targets = targets.order_by(*QUEUE_ORDER_REVERSED)
    if position is None:
        return targets.first()
    rank, created = position["rank"], position["created_at"]
    side = "lt" if backwards else "gt"
    beyond = (
        Q(**{f"rank__{side}": rank})
        | Q(rank=rank, **{f"created_at__{side}": created})
        | Q(rank=rank, created_at=created, **{f"id__{side}": from_id})
    )
    return targets.filter(beyond).first() or targets.first()


def review_queue_targets(*, user: AbstractBaseUser, queue: ReviewQueue) -> QuerySet[Target]:
    """The targets the queue holds, each with its `rank`, in the queue's order. A photo not of the mission: 400."""
    targets = _queue_scope(user=user, queue=queue).filter(status=queue.status)
    return targets.annotate(rank=QUEUE_RANKS[queue.order]()).order_by(*QUEUE_ORDER)


def review_queue_counts(*, user: AbstractBaseUser, queue: ReviewQueue) -> dict[str, int]:
    """`count`: the targets the queue holds now; `total`: those of the same photo and score range that the model
    has answered (waiting for review or decided), so "count of total left" reads as the reviewers' progress."""
    scope = _queue_scope(user=user, queue=queue)
    return {
        "count": scope.filter(status=queue.status).count(),
        "total": scope.filter(status__in=review_queue.QUEUE_STATUSES).count(),
    }


def _queue_scope(*, user: AbstractBaseUser, queue: ReviewQueue) -> QuerySet[Target]:
    """The mission's targets the user did not create, within the queue's photo and score range (any status)."""
    targets = targets_with_history(user).filter(mission_id=queue.mission_id).exclude(created_by=user)
    if queue.drone_image_id is not None:
        if not DroneImage.objects.filter(id=queue.drone_image_id, mission_id=queue.mission_id).exists():
            raise InvalidInput(f"no drone image {queue.drone_image_id} in this mission", field="drone_image")
        targets = targets.filter(drone_image_id=queue.drone_image_id)
    if queue.score_min is not None:
        targets = targets.filter(prediction__score__gte=queue.score_min)
    if queue.score_max is not None:
        targets = targets.filter(prediction__score__lte=queue.score_max)
    return targets


def _position(target_id: int | None, queue: ReviewQueue) -> dict | None:
    """Where a target of the mission stands (or stood, when decided meanwhile) in the queue's order."""
    if target_id is None:
        return None
    found = Target.objects.filter(id=target_id, mission_id=queue.mission_id)
    return found.annotate(rank=QUEUE_RANKS[queue.order]()).values("rank", "created_at").first()


# A long poll that sees a target move to one of these holds its answer up to SETTLE_S for the next change, so a
# quick job answers once, with its result, instead of once for `running` while the worker computes.
TRANSIENT_STATUSES = (TargetStatus.QUEUED, TargetStatus.RUNNING)
SETTLE_S = 0.25


def target_model_version(target: Target) -> ModelVersion | None:
    """The version a target should run on: the one it asked for, else its team's active version."""
    return target.model_version or target.mission.team.active_model


def model_versions_visible_to(team_id: int) -> QuerySet[ModelVersion]:
    """Versions a team may run: its own and the shared ones (no team)."""
    return ModelVersion.objects.filter(Q(team_id=team_id) | Q(team__isnull=True))


def target_ids_stale(*, updated_before: datetime) -> list[int]:
    """Targets queued or running with no change since `updated_before` (their worker or message was lost)."""
    stale = Target.objects.filter(status__in=[TargetStatus.QUEUED, TargetStatus.RUNNING], updated_at__lt=updated_before)
    return list(stale.order_by("updated_at").values_list("id", flat=True))


def predictions_for(user: AbstractBaseUser) -> QuerySet[Prediction]:
    return (
        Prediction.objects.filter(target__mission__team_id__in=team_ids_for(user))
        .select_related("model_version")
        .order_by("-created_at", "-id")
    )


def reviews_for(user: AbstractBaseUser) -> QuerySet[Review]:
    return (
        Review.objects.filter(target__mission__team_id__in=team_ids_for(user))
        .select_related("reviewer")
        .order_by("-created_at", "-id")
    )


def prediction_batches_for(user: AbstractBaseUser) -> QuerySet[PredictionBatch]:
    return (
        PredictionBatch.objects.filter(mission__team_id__in=team_ids_for(user))
        .select_related("model_version", "created_by")
        .order_by("-created_at", "-id")
    )
