"""Reads of targets, predictions and reviews, scoped to the user's teams (another team's objects: 404)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from accounts.selectors import team_ids_for
from core.errors import InvalidInput, NotFound
from localization.models import Prediction, PredictionBatch, Review, Target, TargetStatus
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


REVIEW_ORDERS = ("oldest", "least_confident")
NO_MARGIN = 2.0  # sorts after every real margin (they lie in [0, 1])


def target_next_for_review(
    *, user: AbstractBaseUser, mission_id: int, after_id: int | None = None, order: str = "oldest"
) -> Target | None:
    """The next predicted target of the mission that the user did not create (the reviewer queue): the oldest
    first, or (`order="least_confident"`) the one whose prediction has the smallest confidence margin first. With
    `after_id` (a skipped target), the next one after it in that order, wrapping round to the first."""
    if order not in REVIEW_ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(REVIEW_ORDERS)}", field="order")
    candidates = targets_with_history(user).filter(mission_id=mission_id, status=TargetStatus.PREDICTED)
    queue = candidates.exclude(created_by=user).annotate(
        rank=Coalesce("prediction__margin", Value(NO_MARGIN)) if order == "least_confident" else Value(0.0)
    )
    queue = queue.order_by("rank", "created_at", "id")
    after = _position(after_id, order)
    if after is None:
        return queue.first()
    rank, created = after["rank"], after["created_at"]
    later = Q(rank__gt=rank) | Q(rank=rank, created_at__gt=created) | Q(rank=rank, created_at=created, id__gt=after_id)
    return queue.filter(later).first() or queue.first()


def _position(target_id: int | None, order: str) -> dict | None:
    """Where a target stands (or stood, when decided meanwhile) in the queue's order."""
    if target_id is None:
        return None
    target = Target.objects.filter(id=target_id).select_related("prediction").first()
    if target is None:
        return None
    margin = target.prediction.margin if target.prediction is not None else None
    rank = (NO_MARGIN if margin is None else margin) if order == "least_confident" else 0.0
    return {"rank": rank, "created_at": target.created_at}


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
