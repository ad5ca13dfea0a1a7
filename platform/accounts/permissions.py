"""Role checks for services. Outsiders never learn that another team's object exists: they get 404."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from accounts.models import ROLE_RANK, Role
from accounts.selectors import role_in
from core.errors import NotFound, PermissionDenied

WHO_CAN = {Role.OPERATOR: "team members", Role.REVIEWER: "reviewers and admins", Role.ADMIN: "team admins"}


def require_role(user: AbstractBaseUser, team_id: int, minimum: Role, action: str) -> Role:
    """The user's role when it is at least `minimum`; else 404 for outsiders and 403 naming who can."""
    role = role_in(user, team_id)
    if role is None:
        raise NotFound("not found")
    if ROLE_RANK[role] < ROLE_RANK[minimum]:
        article = "an" if role.value[0] in "aeiou" else "a"
        raise PermissionDenied(f"only {WHO_CAN[minimum]} can {action}; you are {article} {role.value} in this team")
    return role


def require_signed_in(request: object, action: str) -> None:
    """403 when a request comes with an API token: a leaked script's token must not make tokens or invitations that
    outlive it; the person signs in to the web app for those."""
    if getattr(request, "auth", None) is not None:  # session requests have no auth object; token requests do
        raise PermissionDenied(f"an API token cannot {action}; sign in to the web app to do it")
