"""Writes about teams and memberships."""

from __future__ import annotations

import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.models import Membership, Role, Team
from accounts.permissions import require_role
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}  # control, format (zero-width, bidi), surrogate, private use, unassigned


def team_name(text: str) -> str:
    """A team's name as stored: NFKC, without control or invisible format characters (zero-width spaces, direction
    marks), runs of white space as one space. Two names are the same team's when they match case-folded."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if char.isspace() else char for char in text)
    text = "".join(char for char in text if unicodedata.category(char) not in INVISIBLE)
    return " ".join(text.split())


def may_create_teams(user: AbstractBaseUser) -> bool:
    """TEAM_CREATORS: "staff" (site staff only, the default) or "anyone" signed in."""
    return settings.TEAM_CREATORS == "anyone" or bool(getattr(user, "is_staff", False))


@transaction.atomic
def team_create(*, name: str, creator: AbstractBaseUser) -> Team:
    """A new team; its creator is its first admin."""
    if not may_create_teams(creator):
        raise PermissionDenied("only site staff can create teams here (TEAM_CREATORS=staff); ask a site admin")
    name = team_name(name)
    if not name:
        raise InvalidInput("a team needs a name", field="name")
    if any(team_name(other).casefold() == name.casefold() for other in Team.objects.values_list("name", flat=True)):
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
    """Add a user to the team or set their role, whichever is needed (team admins only): for seeding the demo team.
    The API adds with `membership_add` and changes roles with `membership_role_change`."""
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
def membership_add(*, team: Team, username: str, role: str, by: AbstractBaseUser) -> Membership:
    """Add an existing user to the team (team admins only). Someone already in the team is refused with 409: a role
    changes only through `membership_role_change`, never as a side effect of adding."""
    _lock_members(team)
    require_role(by, team.id, Role.ADMIN, "manage members")
    _check_role(role)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(
            f"no user named {username!r}; to add someone without an account, invite them instead", field="username"
        )
    current = Membership.objects.filter(user=user, team=team).first()
    if current is not None:
        raise Conflict(
            f"{user.username} is already {_a(current.role)} of this team; to change their role, pick it in the "
            f"members list (PATCH /api/v1/teams/{team.id}/members/{current.id}/ with a role)",
            field="username",
            role=current.role,
            membership=current.id,
        )
    return Membership.objects.create(user=user, team=team, role=role)


@transaction.atomic
def membership_role_change(*, team: Team, membership_id: int, role: str, by: AbstractBaseUser) -> Membership:
    """Change a member's role (team admins only); the team keeps at least one admin."""
    _lock_members(team)
    require_role(by, team.id, Role.ADMIN, "manage members")
    _check_role(role)
    membership = Membership.objects.select_for_update().filter(team=team, id=membership_id).first()
    if membership is None:
        raise NotFound("no such member in this team")
    if membership.role != role:
        _keep_an_admin(team, membership, new_role=role)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise InvalidInput(f"role must be one of {', '.join(Role.values)}", field="role")


def _a(role: str) -> str:
    return f"{'an' if role[0] in 'aeiou' else 'a'} {role}"


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
    demoted = membership.role == Role.ADMIN and new_role != Role.ADMIN
    if demoted and Membership.objects.filter(team=team, role=Role.ADMIN).count() <= 1:
        raise Conflict("a team must keep at least one admin; make someone else admin first")
