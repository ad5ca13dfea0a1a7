"""The demo team and its logins, one user per role, so a newcomer can try every role on a first run.

Idempotent: users, the team and memberships are created only when missing; an existing user keeps its password.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from accounts.models import Role, Team
from accounts.selectors import role_in
from accounts.services import membership_set, team_create
from core.errors import Conflict

TEAM_NAME = "Demo team"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str  # the seeded one; a user that already existed may have changed it
    role: Role
    superuser: bool
    created: bool


def demo_logins() -> list[tuple[str, str, Role]]:
    """(username, password, role) of the demo users; the admin is also the Django superuser (the /admin/ site)."""
    return [
        ("operator", settings.DEMO_PASSWORD, Role.OPERATOR),
        ("reviewer", settings.DEMO_PASSWORD, Role.REVIEWER),
        (settings.DEMO_ADMIN_USERNAME, settings.DEMO_ADMIN_PASSWORD, Role.ADMIN),
    ]


def demo_team_seed() -> tuple[Team, list[DemoLogin], bool]:
    """The demo team with one member per role: (team, logins, team created). The team's admin writes the
    memberships through the accounts services, as an admin would in the UI."""
    logins = [_user(username, password, role) for username, password, role in demo_logins()]
    admin = get_user_model().objects.get(username=settings.DEMO_ADMIN_USERNAME)
    team = Team.objects.filter(name=TEAM_NAME).first()
    created = team is None
    if team is None:
        team = team_create(name=TEAM_NAME, creator=admin)
    elif role_in(admin, team.id) != Role.ADMIN:
        raise Conflict(f"a team named {TEAM_NAME!r} exists but {admin.username!r} is not its admin")
    for login in logins:
        membership_set(team=team, username=login.username, role=login.role, by=admin)
    return team, logins, created


def _user(username: str, password: str, role: Role) -> DemoLogin:
    users = get_user_model().objects
    superuser = role == Role.ADMIN
    user: AbstractBaseUser | None = users.filter(username=username).first()
    if user is None:
        email = f"{username}@example.org"
        if superuser:
            users.create_superuser(username=username, email=email, password=password)
        else:
            users.create_user(username=username, email=email, password=password)
    return DemoLogin(username, password, role, superuser, created=user is None)
