"""Batch re-prediction: a mission's targets (or some of them) localized again with a chosen model version, beside
their current predictions, so two versions can be compared on the same clicks (the gpu worker runs it)."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.models import Role
from accounts.permissions import require_role
from core.errors import InvalidInput
from core.jobs import job_cancel, job_enqueue_on_commit
from localization.models import PredictionBatch, Target
from missions.models import Mission
from registry.selectors import model_versions_usable_by

REPREDICT_TASK = "workers.repredict_batch"
MAX_TARGETS = 10_000


@transaction.atomic
def prediction_batch_create(
    *, mission: Mission, model_version_id: int, by: AbstractBaseUser, target_ids: Sequence[int] = ()
) -> PredictionBatch:
    """Queue a re-prediction of `target_ids` (default: every target of the mission) with one model version
    (reviewers and admins: comparing versions is part of reviewing)."""
    require_role(by, mission.team_id, Role.REVIEWER, "re-predict targets")
    version = model_versions_usable_by(mission.team_id).filter(id=model_version_id).first()
    if version is None:
        raise InvalidInput(f"model_version: no model version {model_version_id} for this team", field="model_version")
    ids = sorted({int(i) for i in target_ids})
    if len(ids) > MAX_TARGETS:
        raise InvalidInput(f"target_ids: at most {MAX_TARGETS} targets per batch", field="target_ids")
    known = set(Target.objects.filter(mission=mission, id__in=ids).values_list("id", flat=True))
    if missing := [i for i in ids if i not in known]:
        raise InvalidInput(f"target_ids: not targets of this mission: {missing[:10]}", field="target_ids")
    if not ids and not Target.objects.filter(mission=mission).exists():
        raise InvalidInput("mission: it has no targets to re-predict yet", field="mission")
    batch = PredictionBatch.objects.create(
        mission=mission, model_version=version, target_ids=ids, created_by=by, message="waiting for a GPU worker"
    )
    job_enqueue_on_commit(PredictionBatch, batch.id, REPREDICT_TASK)
    return batch


@transaction.atomic
def prediction_batch_cancel(*, batch: PredictionBatch, by: AbstractBaseUser) -> PredictionBatch:
    """Queued: cancelled at once. Running: the worker stops after the target it is on. Finished: 409."""
    require_role(by, batch.mission.team_id, Role.REVIEWER, "cancel re-predictions")
    return job_cancel(batch, "re-prediction")
