"""Writes of missions (basemaps and drone images have their own service modules)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.models import Role, Team
from accounts.permissions import require_role
from core.errors import InvalidInput
from missions.models import Mission


@transaction.atomic
def mission_create(*, team: Team, name: str, description: str = "", by: AbstractBaseUser) -> Mission:
    require_role(by, team.id, Role.OPERATOR, "create missions")
    if not name.strip():
        raise InvalidInput("a mission needs a name", field="name")
    return Mission.objects.create(team=team, name=name.strip(), description=description, created_by=by)


@transaction.atomic
def mission_update(*, mission: Mission, by: AbstractBaseUser, **fields: str) -> Mission:
    require_role(by, mission.team_id, Role.OPERATOR, "edit missions")
    allowed = {"name", "description", "status"}
    for key, value in fields.items():
        if key not in allowed:
            raise InvalidInput(f"{key} cannot be changed", field=key)
        setattr(mission, key, value)
    mission.full_clean()
    mission.save(update_fields=list(fields))
    return mission
