"""Deleting a mis-click: its creator may remove a target until someone reviews it (a reviewed target is a label,
and the review history is append-only)."""

from __future__ import annotations

from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import Storage
from django.db import transaction

from accounts.models import Role
from accounts.permissions import require_role
from core.errors import Conflict, NotFound, PermissionDenied
from localization.models import Prediction, Review, Target


@transaction.atomic
def target_delete(*, target_id: int, by: AbstractBaseUser) -> None:
    """Delete a target and its predictions (their heatmap files once committed). 404 outside the team; 403 for
    anyone but its creator; 409 once it has a review, naming the decision and the reviewer."""
    target = Target.objects.select_for_update(of=("self",)).select_related("created_by").filter(pk=target_id).first()
    if target is None:
        raise NotFound("not found")
    require_role(by, target.mission.team_id, Role.OPERATOR, "delete targets")
    if target.created_by_id != by.pk:
        creator = target.created_by.get_username() if target.created_by else "a removed user"
        raise PermissionDenied(f"only the one who clicked target #{target.id} ({creator}) can delete it")
    review = Review.objects.filter(target=target).select_related("reviewer").order_by("-created_at", "-id").first()
    if review is not None:
        reviewer = review.reviewer.get_username() if review.reviewer else "a removed user"
        raise Conflict(
            f"target #{target.id} was reviewed ({review.decision} by {reviewer}): a reviewed target is a label "
            "and stays; ask a reviewer to reject it instead",
            status=target.status,
        )
    heatmaps = [(p.heatmap.storage, p.heatmap.name) for p in Prediction.objects.filter(target=target) if p.heatmap]
    target.delete()
    for storage, name in heatmaps:
        transaction.on_commit(partial(_delete_file, storage, name))


def _delete_file(storage: Storage, name: str) -> None:
    storage.delete(name)
