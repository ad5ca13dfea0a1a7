"""Reads about teams and roles. Every other app scopes its querysets with `team_ids_for`."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from accounts.models import ROLE_RANK, Membership, Role, Team


def team_ids_for(user: AbstractBaseUser) -> list[int]:
    """The ids of the teams the user belongs to (none for anonymous users)."""
    if not user.is_authenticated:
        return []
    cache = getattr(user, "_team_ids", None)
    if cache is None:
        cache = list(Membership.objects.filter(user=user).values_list("team_id", flat=True))
        user._team_ids = cache
    return cache


def role_in(user: AbstractBaseUser, team_id: int) -> Role | None:
    """The user's role in the team, or None when they are not a member."""
    if not user.is_authenticated:
        return None
    role = Membership.objects.filter(user=user, team_id=team_id).values_list("role", flat=True).first()
    return Role(role) if role else None


def has_role(user: AbstractBaseUser, team_id: int, minimum: Role) -> bool:
    role = role_in(user, team_id)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def teams_for(user: AbstractBaseUser) -> QuerySet[Team]:
    return Team.objects.filter(id__in=team_ids_for(user)).order_by("name")


def members_of(team: Team) -> QuerySet[Membership]:
    return team.memberships.select_related("user").order_by("user__username")
