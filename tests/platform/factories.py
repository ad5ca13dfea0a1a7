"""Test data builders: small functions with sensible defaults and keyword overrides."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.models import Membership, Role, Team
from missions.models import Mission

_counter = itertools.count(1)


def make_user(username: str | None = None, password: str = "pw-for-tests-123", **fields: object):  # noqa: ANN201
    username = username or f"user{next(_counter)}"
    return get_user_model().objects.create_user(username=username, password=password, **fields)


def make_team(name: str | None = None) -> Team:
    return Team.objects.create(name=name or f"team {next(_counter)}")


def add_member(team: Team, role: Role = Role.OPERATOR, user=None):  # noqa: ANN001, ANN201
    user = user or make_user()
    Membership.objects.create(user=user, team=team, role=role)
    return user


def make_mission(team: Team, name: str = "mission", by=None) -> Mission:  # noqa: ANN001
    return Mission.objects.create(team=team, name=name, created_by=by)


def client_for(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.force_authenticate(user)
    return client


@dataclass
class TeamSetup:
    """A team with one user per role, a mission, and an outsider who is admin of another team."""

    team: Team
    operator: object
    reviewer: object
    admin: object
    mission: Mission
    other_team: Team
    outsider: object


def team_setup() -> TeamSetup:
    team = make_team()
    operator, reviewer, admin = (add_member(team, role) for role in (Role.OPERATOR, Role.REVIEWER, Role.ADMIN))
    other_team = make_team()
    outsider = add_member(other_team, Role.ADMIN)
    return TeamSetup(team, operator, reviewer, admin, make_mission(team, by=operator), other_team, outsider)
