"""Reads of targets, predictions and reviews, scoped to the user's teams (another team's objects: 404)."""

from __future__ import annotations

import time
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, Q, QuerySet

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


def target_next_for_review(*, user: AbstractBaseUser, mission_id: int, after_id: int | None = None) -> Target | None:
    """The oldest predicted target of the mission that the user did not create (the reviewer queue). With
    `after_id` (a skipped target), the next one after it in the queue, wrapping round to the oldest."""
    candidates = targets_with_history(user).filter(mission_id=mission_id, status=TargetStatus.PREDICTED)
    queue = candidates.exclude(created_by=user).order_by("created_at", "id")
    after = Target.objects.filter(id=after_id).values("created_at").first() if after_id else None
    if after is None:
        return queue.first()
    later = Q(created_at__gt=after["created_at"]) | Q(created_at=after["created_at"], id__gt=after_id)
    return queue.filter(later).first() or queue.first()


def target_wait_for_change(*, target_id: int, known_status: str, timeout_s: float, every_s: float = 0.02) -> str:
    """Block until the target's status differs from `known_status` (or `timeout_s` passes); the status then. One
    indexed one-column query per `every_s`: far cheaper than a client re-fetching the whole target."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = Target.objects.filter(id=target_id).values_list("status", flat=True).first()
        if status != known_status or time.monotonic() >= deadline:
            return status
        time.sleep(every_s)


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
