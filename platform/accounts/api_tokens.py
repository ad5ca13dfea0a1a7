"""API tokens a user makes for their own scripts: several per user, each with a name, revocable.

A key is `smg_` and 43 random URL-safe characters. It is handed back once, when it is made; only its sha256 is
stored, with its first characters (the prefix) so that people can tell their tokens apart. Scripts send it as
`Authorization: Token <key>` (accounts/authentication.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiToken
from accounts.secret_keys import key_hash, new_key
from core.errors import Conflict, InvalidInput, NotFound

KEY_MARK = "smg_"
PREFIX_CHARS = 10  # "smg_" and 6 random characters: enough to tell tokens apart, far too few to guess the rest
MAX_TOKENS_PER_USER = 50
LAST_USED_EVERY = timedelta(minutes=1)  # `last_used_at` is written at most this often, not on every request


@dataclass(frozen=True)
class NewToken:
    """A token just made, with its key: the only moment the key exists outside the script that will use it."""

    token: ApiToken
    key: str


def tokens_of(user: AbstractBaseUser) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


@transaction.atomic
def api_token_create(*, user: AbstractBaseUser, name: str) -> NewToken:
    name = " ".join(str(name).split())
    if not name:
        raise InvalidInput("a token needs a name, e.g. the script or machine that will use it", field="name")
    if len(name) > 80:
        raise InvalidInput("a token's name has at most 80 characters", field="name")
    mine = ApiToken.objects.select_for_update().filter(user=user)
    names = list(mine.values_list("name", flat=True))
    if name.casefold() in (other.casefold() for other in names):
        raise Conflict(f"you already have a token named {name!r}; pick another name or revoke that one", field="name")
    if len(names) >= MAX_TOKENS_PER_USER:
        raise Conflict(f"you have {len(names)} tokens, the most allowed; revoke one you no longer use")
    key = new_key(KEY_MARK)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:PREFIX_CHARS], key_hash=key_hash(key))
    return NewToken(token, key)


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> None:
    """Revoke one of the user's own tokens; another user's token is as absent as a missing one."""
    deleted, _ = ApiToken.objects.filter(user=user, id=token_id).delete()
    if not deleted:
        raise NotFound("you have no token with this id")


def api_token_user(key: str) -> tuple[AbstractBaseUser, ApiToken] | None:
    """The user a key belongs to and its token (its last use noted), or None for an unknown or revoked key."""
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


def note_password_change(sender: type, instance: AbstractBaseUser, update_fields: object = None, **_: object) -> None:
    """pre_save of a user: mark a save that changes the password (admin, `changepassword`, any set_password)."""
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_changed = stored is not None and stored != instance.password  # noqa: SLF001


def revoke_tokens_on_password_change(sender: type, instance: AbstractBaseUser, **_: object) -> None:
    """post_save of a user: a new password revokes every API token of theirs (named and legacy): a token taken
    with the old password must not outlive it."""
    if getattr(instance, "_password_changed", False):
        from rest_framework.authtoken.models import Token

        ApiToken.objects.filter(user=instance).delete()
        Token.objects.filter(user=instance).delete()
        instance._password_changed = False  # noqa: SLF001
