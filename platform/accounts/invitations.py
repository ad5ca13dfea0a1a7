"""Invitations: a team admin invites a new person by a one-time link; the person sets their password and joins.

The link's key is made here, handed back once (the admin copies the link) and stored only as its sha256. A link
works once, until it expires (INVITATION_TTL_S, three days by default), and an admin can withdraw it before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Invitation, Membership, Role, Team
from accounts.permissions import require_role
from accounts.secret_keys import key_hash, new_key
from accounts.selectors import has_role
from core.errors import Conflict, InvalidInput, NotFound

DEFAULT_TTL_S = 3 * 24 * 3600
USED = "this invitation link has already been used; log in with the password you chose"


def invitation_ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "INVITATION_TTL_S", DEFAULT_TTL_S))


@dataclass(frozen=True)
class NewInvitation:
    """An invitation just made, with the key of its link: the only moment the key exists outside the link."""

    invitation: Invitation
    key: str


def pending_invitations(team: Team) -> QuerySet[Invitation]:
    return team.invitations.filter(accepted_at__isnull=True, expires_at__gt=timezone.now()).order_by("-created_at")


def _clean_username(username: str) -> str:
    username = get_user_model().normalize_username(username).strip()
    if not username:
        raise InvalidInput("the new account needs a username", field="username")
    if len(username) > 150:
        raise InvalidInput("a username has at most 150 characters", field="username")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as error:
        raise InvalidInput(f"username: {' '.join(error.messages)}", field="username") from None
    return username


def _check_username_free(username: str) -> None:
    if get_user_model().objects.filter(username__iexact=username).exists():
        raise Conflict(
            f"{username!r} already has an account: add them as an existing user instead of inviting them",
            field="username",
        )


@transaction.atomic
def invitation_create(*, team: Team, username: str, role: str, by: AbstractBaseUser) -> NewInvitation:
    """A one-time link for a new person to join the team with `role` (team admins only)."""
    require_role(by, team.id, Role.ADMIN, "invite people")
    if role not in Role.values:
        raise InvalidInput(f"role must be one of {', '.join(Role.values)}", field="role")
    username = _clean_username(username)
    _check_username_free(username)
    now = timezone.now()
    waiting = team.invitations.filter(username__iexact=username, accepted_at__isnull=True, expires_at__gt=now)
    if waiting.exists():
        raise Conflict(
            f"an invitation for {username!r} is already waiting to be used; withdraw it first to make a new link",
            field="username",
        )
    key = new_key()
    expires_at = now + invitation_ttl()
    invitation = Invitation.objects.create(
        team=team, username=username, role=role, key_hash=key_hash(key), created_by=by, expires_at=expires_at
    )
    return NewInvitation(invitation, key)


@transaction.atomic
def invitation_withdraw(*, team: Team, invitation_id: int, by: AbstractBaseUser) -> None:
    require_role(by, team.id, Role.ADMIN, "invite people")
    deleted, _ = pending_invitations(team).filter(id=invitation_id).delete()
    if not deleted:
        raise NotFound("no such invitation waiting in this team")


def invitation_for_key(key: str) -> Invitation:
    """The invitation a link's key opens; NotFound for an unknown key, Conflict for a used or expired one."""
    invitation = Invitation.objects.select_related("team", "created_by").filter(key_hash=key_hash(key)).first()
    if invitation is None:
        raise NotFound("this invitation link is not valid (withdrawn or mistyped); ask a team admin for a new one")
    if invitation.accepted_at is not None:
        raise Conflict(USED)
    if invitation.expires_at <= timezone.now():
        raise Conflict("this invitation link has expired; ask a team admin for a new one")
    maker = invitation.created_by
    if maker is None or not maker.is_active or not has_role(maker, invitation.team_id, Role.ADMIN):
        raise Conflict(
            "this invitation link is no longer valid: the admin who made it no longer administers the team; "
            "ask a team admin for a new one"
        )
    return invitation


@transaction.atomic
def invitation_accept(*, key: str, password: str) -> AbstractBaseUser:
    """Make the invited person's account with their password and their membership; the link is used up."""
    invitation = invitation_for_key(key)
    still_open = Invitation.objects.select_for_update().filter(pk=invitation.pk, accepted_at__isnull=True)
    if not list(still_open.values_list("pk", flat=True)):  # two tabs sending the same link: the first one wins
        raise Conflict(USED)
    users = get_user_model()
    _check_username_free(invitation.username)
    candidate = users(username=invitation.username)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), field="password") from None
    user = users.objects.create_user(username=invitation.username, password=password)
    Membership.objects.create(user=user, team=invitation.team, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return user
