"""People and API tokens through the API: adding a member never changes a role, a role changes only on purpose,
invitations by one-time link, and the named API tokens users make for their scripts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import ApiToken, Invitation, Membership, Role
from tests.platform.factories import client_for, make_user, team_setup
from tests.platform.people_fixtures import token_of, waiting_invitation

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-field-password-42"


def test_adding_someone_already_in_the_team_is_refused_with_their_role_and_the_way_to_change_it() -> None:
    setup = team_setup()
    url = f"/api/v1/teams/{setup.team.id}/members/"
    again = client_for(setup.admin).post(url, {"username": setup.reviewer.username, "role": "admin"})
    assert again.status_code == 409, again.json()
    body = again.json()
    assert f"{setup.reviewer.username} is already a reviewer of this team" in body["detail"]
    assert "PATCH" in body["detail"] and body["role"] == "reviewer"
    assert Membership.objects.get(team=setup.team, user=setup.reviewer).role == Role.REVIEWER  # unchanged


def test_a_role_changes_only_through_its_own_call_and_the_last_admin_stays() -> None:
    setup = team_setup()
    reviewer = Membership.objects.get(team=setup.team, user=setup.reviewer)
    url = f"/api/v1/teams/{setup.team.id}/members/{reviewer.id}/"
    changed = client_for(setup.admin).patch(url, {"role": "admin"})
    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    assert client_for(setup.admin).patch(url, {"role": "chief"}).status_code == 400
    assert client_for(setup.operator).patch(url, {"role": "operator"}).status_code == 403
    client_for(setup.admin).patch(url, {"role": "operator"})
    own = Membership.objects.get(team=setup.team, user=setup.admin)
    last = client_for(setup.admin).patch(f"/api/v1/teams/{setup.team.id}/members/{own.id}/", {"role": "reviewer"})
    assert last.status_code == 409 and "at least one admin" in last.json()["detail"]


# ------------------------------------------------------------------------------------------- invitations
def invite(setup, username: str = "newbie", role: str = "reviewer"):  # noqa: ANN001, ANN201
    return client_for(setup.admin).post(
        f"/api/v1/teams/{setup.team.id}/invitations/", {"username": username, "role": role}
    )


def key_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def test_an_invited_person_sets_their_password_once_and_joins_with_the_role() -> None:
    setup = team_setup()
    made = invite(setup)
    assert made.status_code == 201, made.json()
    link, key = made.json()["link"], key_of(made.json()["link"])
    assert "/invite/" in link and not Invitation.objects.filter(key_hash=key).exists()  # only a hash is stored
    listed = client_for(setup.admin).get(f"/api/v1/teams/{setup.team.id}/invitations/").json()
    assert [i["username"] for i in listed] == ["newbie"] and "link" not in listed[0]

    browser = Client()
    page = browser.get(f"/invite/{key}/")
    assert page.status_code == 200 and b"newbie" in page.content and setup.team.name.encode() in page.content
    differ = browser.post(f"/invite/{key}/", {"password": PASSWORD, "password_again": PASSWORD + "x"})
    assert differ.status_code == 400 and b"two passwords differ" in differ.content
    weak = browser.post(f"/invite/{key}/", {"password": "123", "password_again": "123"})
    assert weak.status_code == 400 and not get_user_model().objects.filter(username="newbie").exists()
    joined = browser.post(f"/invite/{key}/", {"password": PASSWORD, "password_again": PASSWORD})
    assert joined.status_code == 302 and joined["Location"] == f"/console/?team={setup.team.id}"
    user = get_user_model().objects.get(username="newbie")
    assert user.check_password(PASSWORD) and Membership.objects.get(user=user).role == Role.REVIEWER
    assert browser.get("/api/v1/me/").json()["username"] == "newbie"  # logged in

    used = Client().post(f"/invite/{key}/", {"password": PASSWORD, "password_again": PASSWORD})
    assert used.status_code == 409 and b"already been used" in used.content
    assert client_for(setup.admin).get(f"/api/v1/teams/{setup.team.id}/invitations/").json() == []


def test_expired_withdrawn_and_unknown_links_say_so_and_make_no_account() -> None:
    setup = team_setup()
    waiting_invitation(setup.team, username="late", key="late-key", expires_at=timezone.now() - timedelta(minutes=1))
    withdrawn = waiting_invitation(setup.team, username="gone", key="gone-key")
    deleted = client_for(setup.admin).delete(f"/api/v1/teams/{setup.team.id}/invitations/{withdrawn.id}/")
    assert deleted.status_code == 204
    form = {"password": PASSWORD, "password_again": PASSWORD}
    expired = Client().post("/invite/late-key/", form)
    assert expired.status_code == 409 and b"expired" in expired.content
    for key in ("gone-key", "never-made"):
        unknown = Client().post(f"/invite/{key}/", form)
        assert unknown.status_code == 404 and b"not valid" in unknown.content
    assert not get_user_model().objects.filter(username__in=["late", "gone"]).exists()


def test_an_invitation_is_refused_for_a_taken_username_a_waiting_one_and_by_non_admins() -> None:
    setup = team_setup()
    taken = invite(setup, username=setup.operator.username.upper())
    assert taken.status_code == 409 and "already has an account" in taken.json()["detail"]
    assert invite(setup, username="newbie").status_code == 201
    twice = invite(setup, username="newbie")
    assert twice.status_code == 409 and "already waiting" in twice.json()["detail"]
    bad = invite(setup, username="has spaces!")
    assert bad.status_code == 400 and bad.json()["field"] == "username"
    url = f"/api/v1/teams/{setup.team.id}/invitations/"
    refused = client_for(setup.reviewer).post(url, {"username": "x", "role": "operator"})
    assert refused.status_code == 403 and "team admins" in refused.json()["detail"]


def test_a_link_dies_with_its_makers_admin_rights_and_other_teams_pending_names_stay_private() -> None:
    setup = team_setup()
    second_admin = make_user("second-admin")
    Membership.objects.create(user=second_admin, team=setup.team, role=Role.ADMIN)
    made = client_for(second_admin).post(
        f"/api/v1/teams/{setup.team.id}/invitations/", {"username": "sleeper", "role": "admin"}
    )
    key = key_of(made.json()["link"])
    assert Client().get(f"/invite/{key}/").status_code == 200
    membership = Membership.objects.get(team=setup.team, user=second_admin)
    removed = client_for(setup.admin).delete(f"/api/v1/teams/{setup.team.id}/members/{membership.id}/")
    assert removed.status_code == 204
    form = {"password": PASSWORD, "password_again": PASSWORD}
    refused = Client().post(f"/invite/{key}/", form)
    assert refused.status_code == 409 and b"no longer administers the team" in refused.content
    assert not get_user_model().objects.filter(username="sleeper").exists()

    assert invite(setup, username="pending-name").status_code == 201
    other_url = f"/api/v1/teams/{setup.other_team.id}/invitations/"  # nothing tells another team A waits for it
    again = client_for(setup.outsider).post(other_url, {"username": "pending-name", "role": "reviewer"})
    assert again.status_code == 201, again.json()


# ------------------------------------------------------------------------------------------- API tokens
def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_user_creates_lists_uses_and_revokes_their_own_token() -> None:
    user = make_user("scripter")
    made = client_for(user).post("/api/v1/me/tokens/", {"name": "nightly export"})
    assert made.status_code == 201, made.json()
    key = made.json()["key"]
    assert key.startswith(made.json()["prefix"]) and len(key) > 40
    stored = ApiToken.objects.get(user=user)
    assert key not in (stored.key_hash, stored.prefix)  # the key itself is never stored
    listed = client_for(user).get("/api/v1/me/tokens/").json()
    assert [(t["name"], t["prefix"], t["last_used_at"]) for t in listed] == [("nightly export", key[:10], None)]
    assert "key" not in listed[0]

    assert token_client(key).get("/api/v1/me/").json()["username"] == "scripter"
    assert client_for(user).get("/api/v1/me/tokens/").json()[0]["last_used_at"] is not None

    assert client_for(user).delete(f"/api/v1/me/tokens/{stored.id}/").status_code == 204
    refused = token_client(key).get("/api/v1/me/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_another_users_token_cannot_be_revoked_or_seen() -> None:
    owner, other = make_user(), make_user()
    token = token_of(owner)
    assert client_for(other).delete(f"/api/v1/me/tokens/{token.id}/").status_code == 404
    assert client_for(other).get("/api/v1/me/tokens/").json() == []
    assert ApiToken.objects.filter(id=token.id).exists()


def test_token_names_are_required_and_unique_per_user() -> None:
    user = make_user()
    empty = client_for(user).post("/api/v1/me/tokens/", {"name": "   "})
    assert empty.status_code == 400 and "needs a name" in empty.json()["detail"]
    token_of(user, name="laptop")
    twice = client_for(user).post("/api/v1/me/tokens/", {"name": "Laptop"})
    assert twice.status_code == 409 and "already have a token named" in twice.json()["detail"]
    assert client_for(make_user()).post("/api/v1/me/tokens/", {"name": "laptop"}).status_code == 201


def test_a_token_made_with_drf_create_token_keeps_working_and_a_made_up_one_is_refused() -> None:
    user = make_user("old-script")
    legacy = Token.objects.create(user=user)
    assert token_client(legacy.key).get("/api/v1/me/").json()["username"] == "old-script"
    assert token_client("smg_made-up").get("/api/v1/me/").status_code == 401
    assert token_client("made-up").get("/api/v1/me/").status_code == 401


def test_a_token_cannot_make_tokens_or_invitations_and_a_new_password_revokes_every_token() -> None:
    setup = team_setup()
    key = client_for(setup.admin).post("/api/v1/me/tokens/", {"name": "script"}).json()["key"]
    script = token_client(key)
    minted = script.post("/api/v1/me/tokens/", {"name": "survivor"})
    assert minted.status_code == 403 and "an API token cannot make API tokens" in minted.json()["detail"]
    invited = script.post(f"/api/v1/teams/{setup.team.id}/invitations/", {"username": "x", "role": "admin"})
    assert invited.status_code == 403 and "cannot invite people" in invited.json()["detail"]
    assert ApiToken.objects.filter(user=setup.admin).count() == 1 and not Invitation.objects.exists()
    assert script.get("/api/v1/me/").status_code == 200  # the token still does what scripts do
    legacy = Token.objects.create(user=setup.admin)
    setup.admin.last_login = timezone.now()
    setup.admin.save(update_fields=["last_login"])  # a sign-in: no password change, the tokens stay
    assert script.get("/api/v1/me/").status_code == 200
    setup.admin.set_password("a-brand-new-password-77")
    setup.admin.save()
    assert script.get("/api/v1/me/").status_code == 401
    assert token_client(legacy.key).get("/api/v1/me/").status_code == 401
    assert not ApiToken.objects.filter(user=setup.admin).exists()
