"""Reads of model versions, activations, training runs and reviewed labels, scoped to the user's teams.

A model version is visible to a user when it is shared (no team) or owned by one of their teams; a team can run
(activate, fine-tune from, use as parent) its own versions and the shared ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, JSONField, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce

from accounts.models import Team
from accounts.selectors import team_ids_for
from localization.models import Review, Target, TargetStatus
from registry.models import ModelActivation, ModelVersion, TrainingRun

LABELLED = (TargetStatus.APPROVED, TargetStatus.CORRECTED)


def model_versions_for(user: AbstractBaseUser) -> QuerySet[ModelVersion]:
    """Shared versions and those of the user's teams, with their lineage rows joined."""
    visible = Q(team__isnull=True) | Q(team_id__in=team_ids_for(user))
    return ModelVersion.objects.filter(visible).select_related("team", "parent", "training_run", "created_by")


def model_versions_usable_by(team_id: int) -> QuerySet[ModelVersion]:
    """The versions a team can run: its own and the shared ones."""
    return ModelVersion.objects.filter(Q(team__isnull=True) | Q(team_id=team_id))


def model_version_lineage(version: ModelVersion, limit: int = 50) -> list[ModelVersion]:
    """The version's ancestors, parent first (one query per generation, at most `limit`)."""
    chain, seen, current = [], {version.id}, version.parent
    while current is not None and current.id not in seen and len(chain) < limit:
        chain.append(current)
        seen.add(current.id)
        current = current.parent
    return chain


def active_models_of(user: AbstractBaseUser) -> dict[int, int | None]:
    """{team id: its active model version id} for the user's teams."""
    return dict(Team.objects.filter(id__in=team_ids_for(user)).values_list("id", "active_model_id"))


def activations_for(user: AbstractBaseUser) -> QuerySet[ModelActivation]:
    """The activation history of the user's teams, newest first."""
    return ModelActivation.objects.filter(team_id__in=team_ids_for(user)).select_related(
        "team", "model_version", "activated_by"
    )


def activation_stack(team_id: int) -> list[int]:
    """The version ids a rollback walks back through, oldest first; the last one is the current version.

    Replays the history: an activation pushes its version, a rollback pops the current one.
    """
    stack: list[int] = []
    history = ModelActivation.objects.filter(team_id=team_id).order_by("created_at", "id")
    for reason, version_id in history.values_list("reason", "model_version_id"):
        if reason == "rollback":
            while stack and stack[-1] != version_id:
                stack.pop()
            if not stack:
                stack.append(version_id)
        elif not stack or stack[-1] != version_id:
            stack.append(version_id)
    return stack


def training_runs_for(user: AbstractBaseUser) -> QuerySet[TrainingRun]:
    """The runs of the user's teams, with the run that made their base version (its frozen labels, not its log) and
    the activations of the version they made joined."""
    activations = Prefetch("result_version__activations", ModelActivation.objects.select_related("activated_by"))
    runs = TrainingRun.objects.filter(team_id__in=team_ids_for(user))
    return (
        runs.select_related("team", "base_version__training_run", "created_by", "result_version")
        .defer("base_version__training_run__history", "base_version__training_run__log")
        .prefetch_related(activations)
    )


def reviewed_labels(*, team_id: int | None = None, mission_id: int | None = None) -> QuerySet[Review]:
    """The label of every approved or corrected target (of a team or a mission): its latest review
    (Target.last_review), annotated with `label_box` = the review's final box, else the box of the prediction it
    reviewed ([x1, y1, x2, y2] basemap pixels). Ordered by target id."""
    targets = Target.objects.filter(status__in=LABELLED, last_review__isnull=False)
    if team_id is not None:
        targets = targets.filter(mission__team_id=team_id)
    if mission_id is not None:
        targets = targets.filter(mission_id=mission_id)
    return labels_by_review_ids(targets.values("last_review_id"))


def labels_by_review_ids(review_ids: Iterable[int] | QuerySet) -> QuerySet[Review]:
    """Reviews (e.g. a training run's frozen `dataset_label_ids`) annotated with `label_box`, with their target,
    drone image and basemap joined, ordered by target id; reviews without any box are left out."""
    box = Coalesce(F("final_box"), F("prediction__box"), output_field=JSONField())
    labels = Review.objects.filter(id__in=review_ids).annotate(label_box=box).filter(label_box__isnull=False)
    return labels.select_related("target__drone_image", "target__basemap").order_by("target_id")


def dataset_snapshot(team_id: int) -> tuple[list[int], str]:
    """The frozen training set of a team: the sorted label review ids, and a sha256 over (review id, final box)."""
    pairs = sorted((review_id, [float(v) for v in box]) for review_id, box in _label_pairs(team_id))
    digest = hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode()).hexdigest()
    return [review_id for review_id, _ in pairs], digest


def _label_pairs(team_id: int) -> list[tuple[int, list[float]]]:
    return list(reviewed_labels(team_id=team_id).values_list("id", "label_box"))
