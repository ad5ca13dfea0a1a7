"""Writes about teams and memberships."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.models import Membership, Role, Team
from accounts.permissions import require_role
from core.errors import Conflict, InvalidInput, NotFound


@transaction.atomic
def team_create(*, name: str, creator: AbstractBaseUser) -> Team:
    """A new team; its creator is its first admin."""
    name = name.strip()
    if not name:
        raise InvalidInput("a team needs a name", field="name")
    if Team.objects.filter(name__iexact=name).exists():
        raise Conflict(f"a team named {name!r} already exists", field="name")
    team = Team.objects.create(name=name)
    Membership.objects.create(user=creator, team=team, role=Role.ADMIN)
    return team


def _lock_members(team: Team) -> None:
    """Serialise the writes to one team's memberships on the team's row: two admins demoting each other at the same
    moment must not both see the other as the remaining admin (a COUNT cannot be locked FOR UPDATE)."""
    list(Team.objects.select_for_update().filter(pk=team.pk).values_list("pk", flat=True))


@transaction.atomic
def membership_set(*, team: Team, username: str, role: str, by: AbstractBaseUser) -> Membership:
    """Add a user to the team or change their role (team admins only)."""
    _lock_members(team)
    require_role(by, team.id, Role.ADMIN, "manage members")
    if role not in Role.values:
        raise InvalidInput(f"role must be one of {', '.join(Role.values)}", field="role")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"no user named {username!r}", field="username")
    membership, _ = Membership.objects.select_for_update().get_or_create(user=user, team=team, defaults={"role": role})
    if membership.role != role:
        _keep_an_admin(team, membership, new_role=role)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, team: Team, membership_id: int, by: AbstractBaseUser) -> None:
    _lock_members(team)
    require_role(by, team.id, Role.ADMIN, "manage members")
    membership = Membership.objects.select_for_update().filter(team=team, id=membership_id).first()
    if membership is None:
        raise NotFound("no such member in this team")
    _keep_an_admin(team, membership, new_role=None)
    membership.delete()


def _keep_an_admin(team: Team, membership: Membership, new_role: str | None) -> None:
    if membership.role == Role.ADMIN and new_role != Role.ADMIN:
        if Membership.objects.filter(team=team, role=Role.ADMIN).count() <= 1:
            raise Conflict("a team must keep at least one admin; make someone else admin first")
