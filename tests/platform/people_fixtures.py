"""Test data for invitations and API tokens (tests/platform/test_people_api.py, the permission matrix)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.api_tokens import api_token_create
from accounts.models import ApiToken, Invitation, Role, Team
from accounts.secret_keys import key_hash


def waiting_invitation(
    team: Team, username: str = "invitee-waiting", key: str = "test-key", **fields: object
) -> Invitation:
    """An invitation of `username` to `team` as operator, opened by `key`, valid for a day, made by one of the team's
    admins (override with fields)."""
    maker = team.memberships.filter(role=Role.ADMIN).values_list("user", flat=True).first()
    values = {"role": Role.OPERATOR, "expires_at": timezone.now() + timedelta(days=1), "created_by_id": maker, **fields}
    return Invitation.objects.create(team=team, username=username, key_hash=key_hash(key), **values)


def token_of(user, name: str = "matrix script") -> ApiToken:  # noqa: ANN001
    return api_token_create(user=user, name=name).token
