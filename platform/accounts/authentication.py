"""`Authorization: Token <key>`: the named tokens users make themselves (accounts/api_tokens.py), and the older
single token per user that `manage.py drf_create_token` makes (DRF's authtoken table), which keeps working."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts.api_tokens import KEY_MARK, api_token_user


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[object, object]:
        if not key.startswith(KEY_MARK):
            return super().authenticate_credentials(key)  # an older token, made with drf_create_token
        found = api_token_user(key)
        if found is None:
            raise exceptions.AuthenticationFailed("invalid token: unknown or revoked")
        user, token = found
        if not user.is_active:
            raise exceptions.AuthenticationFailed("user inactive or deleted")
        return user, token


def request_user(request: object) -> object:
    """The user a plain Django request comes from, outside DRF's views: the signed-in session's, else the owner of
    the API token it sends (AuthenticationFailed for an unknown or revoked one), else the anonymous user."""
    user = request.user
    if user.is_authenticated:
        return user
    found = ApiTokenAuthentication().authenticate(request)
    return found[0] if found else user
