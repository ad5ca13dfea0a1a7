"""Writes of model versions: registration from a checkpoint file, activation (promotion) and rollback.

Registration is idempotent by the file's sha256: the same file registered twice for a team (or twice as a shared
version) returns the version already there. Nothing is stored when the file is refused.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO

from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import Role, Team
from accounts.permissions import require_role
from core.errors import Conflict, InvalidInput
from registry import checkpoints
from registry.models import ModelActivation, ModelVersion, TrainingRun
from registry.selectors import activation_stack, model_versions_usable_by

log = logging.getLogger(__name__)

NAME_MAX = ModelVersion._meta.get_field("name").max_length


def model_version_register(
    *, team: Team, name: str, checkpoint: File, by: AbstractBaseUser, parent: ModelVersion | None = None
) -> tuple[ModelVersion, bool]:
    """Register an uploaded checkpoint for a team (team admins). Returns (version, created)."""
    require_role(by, team.id, Role.ADMIN, "register model versions")
    checkpoints.check_size(checkpoint.size)
    checkpoint.seek(0)
    return _register(source=checkpoint, team=team, name=name, parent=parent, training_run=None, by=by)


def model_version_register_file(
    *,
    path: str | Path,
    name: str,
    team: Team | None = None,
    parent: ModelVersion | None = None,
    training_run: TrainingRun | None = None,
    by: AbstractBaseUser | None = None,
) -> tuple[ModelVersion, bool]:
    """Register a checkpoint from a local file (the register_model command, the fine-tune worker): no role check.
    team None makes a shared version every team can run. Returns (version, created)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no checkpoint file at {path}", field="checkpoint")
    checkpoints.check_size(path.stat().st_size)
    with path.open("rb") as source:
        return _register(source=source, team=team, name=name, parent=parent, training_run=training_run, by=by)


def _register(
    *,
    source: IO[bytes],
    team: Team | None,
    name: str,
    parent: ModelVersion | None,
    training_run: TrainingRun | None,
    by: AbstractBaseUser | None,
) -> tuple[ModelVersion, bool]:
    name = _checked_name(name)
    if parent is not None and team is not None and not model_versions_usable_by(team.id).filter(id=parent.id).exists():
        raise InvalidInput("parent: no such model version for this team", field="parent")
    with checkpoints.spooled(source) as spool:
        existing = _same_file(team, spool.sha256)
        if existing is not None:
            return existing, False
        info = checkpoints.inspect_checkpoint(spool.path)
        if _name_taken(team, name):
            raise Conflict(f"a model version named {name!r} already exists here; choose another name", field="name")
        version = ModelVersion(
            team=team,
            name=name,
            sha256=spool.sha256,
            size_bytes=spool.size_bytes,
            config=info.config,
            metrics=info.metrics,
            parent=parent,
            training_run=training_run,
            created_by=by,
        )
        with spool.path.open("rb") as handle:
            version.checkpoint.save(f"{slugify(name) or 'model'}-{spool.sha256[:12]}.pt", File(handle), save=False)
    return _insert(version)


def _insert(version: ModelVersion) -> tuple[ModelVersion, bool]:
    """Insert the row; on any failure delete the stored file. A concurrent twin of the same file wins quietly."""
    try:
        with transaction.atomic():
            version.save()
    except IntegrityError:
        version.checkpoint.delete(save=False)
        existing = _same_file(version.team, version.sha256)
        if existing is None:
            raise Conflict(f"a model version named {version.name!r} already exists here", field="name") from None
        return existing, False
    except BaseException:
        version.checkpoint.delete(save=False)
        raise
    return version, True


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name: a model version needs a name", field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"name: at most {NAME_MAX} characters", field="name")
    return name


def _same_file(team: Team | None, sha256: str) -> ModelVersion | None:
    """The version of this file that the team (or the shared registry) already has."""
    scope = ModelVersion.objects.filter(sha256=sha256)
    if team is None:
        return scope.filter(team__isnull=True).first()
    return scope.filter(team=team).first() or scope.filter(team__isnull=True).first()


def _name_taken(team: Team | None, name: str) -> bool:
    return ModelVersion.objects.filter(team=team, name=name).exists()


@transaction.atomic
def model_version_activate(
    *, version: ModelVersion, team: Team, by: AbstractBaseUser, reason: str = "activate"
) -> ModelActivation:
    """Make `version` the team's active model (team admins); records who and when. Activating the version that
    is already active changes nothing and returns its latest activation."""
    require_role(by, team.id, Role.ADMIN, "activate model versions")
    return model_version_activate_unchecked(version=version, team=team, by=by, reason=reason)


@transaction.atomic
def model_version_activate_unchecked(
    *, version: ModelVersion, team: Team, by: AbstractBaseUser | None = None, reason: str = "activate"
) -> ModelActivation:
    """Activation without a role check, for trusted callers (the register_model command, auto-promotion)."""
    team = Team.objects.select_for_update().get(id=team.id)
    if version.team_id not in (None, team.id):
        raise InvalidInput("model_version: this version belongs to another team", field="model_version")
    if team.active_model_id == version.id:
        latest = team.activations.filter(model_version=version).order_by("-created_at", "-id").first()
        if latest is not None:
            return latest
    return _set_active(team, version, by, reason)


@transaction.atomic
def model_version_rollback(*, team: Team, by: AbstractBaseUser) -> ModelActivation:
    """Re-activate the version that was active before the current one (team admins); 409 when there is none."""
    require_role(by, team.id, Role.ADMIN, "roll back the model")
    team = Team.objects.select_for_update().get(id=team.id)
    stack = activation_stack(team.id)
    if len(stack) < 2 or stack[-1] != team.active_model_id:
        raise Conflict("there is no earlier model version to roll back to")
    version = ModelVersion.objects.get(id=stack[-2])
    return _set_active(team, version, by, "rollback")


def _set_active(team: Team, version: ModelVersion, by: AbstractBaseUser | None, reason: str) -> ModelActivation:
    team.active_model = version
    team.save(update_fields=["active_model"])
    log.info("team %s now runs model version %s (%s)", team.id, version.id, reason)
    return ModelActivation.objects.create(team=team, model_version=version, activated_by=by, reason=reason)
