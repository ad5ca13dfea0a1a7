import pytest

from accounts.models import Membership, Role
from tests.platform.factories import client_for, make_user, team_setup

pytestmark = pytest.mark.django_db


def test_me_lists_my_teams_with_my_role() -> None:
    setup = team_setup()
    body = client_for(setup.reviewer).get("/api/v1/me/").json()
    assert [(t["name"], t["my_role"]) for t in body["teams"]] == [(setup.team.name, "reviewer")]


def test_another_teams_object_answers_404() -> None:
    setup = team_setup()
    assert client_for(setup.outsider).get(f"/api/v1/teams/{setup.team.id}/").status_code == 404
    assert client_for(setup.outsider).get(f"/api/v1/missions/{setup.mission.id}/").status_code == 404


def test_creating_a_team_makes_its_creator_admin() -> None:
    user = make_user()
    response = client_for(user).post("/api/v1/teams/", {"name": "Field team North"})
    assert response.status_code == 201 and response.json()["my_role"] == "admin"


def test_only_admins_manage_members_and_the_last_admin_stays() -> None:
    setup = team_setup()
    newcomer = make_user("newcomer")
    url = f"/api/v1/teams/{setup.team.id}/members/"
    denied = client_for(setup.reviewer).post(url, {"username": "newcomer", "role": "operator"})
    assert denied.status_code == 403 and "team admins" in denied.json()["detail"]
    added = client_for(setup.admin).post(url, {"username": "newcomer", "role": "reviewer"})
    assert added.status_code == 200 and Membership.objects.get(user=newcomer).role == Role.REVIEWER
    own = Membership.objects.get(user=setup.admin)
    last = client_for(setup.admin).delete(f"{url}{own.id}/")
    assert last.status_code == 409 and "at least one admin" in last.json()["detail"]


def test_missions_list_counts_targets_per_status() -> None:
    setup = team_setup()
    body = client_for(setup.operator).get("/api/v1/missions/").json()
    assert body["count"] == 1
    assert body["results"][0]["counts"]["total"] == 0 and "predicted" in body["results"][0]["counts"]


def test_operators_create_missions_only_in_their_own_teams() -> None:
    setup = team_setup()
    ok = client_for(setup.operator).post("/api/v1/missions/", {"team": setup.team.id, "name": "Bridge survey"})
    assert ok.status_code == 201
    foreign = client_for(setup.operator).post("/api/v1/missions/", {"team": setup.other_team.id, "name": "x"})
    assert foreign.status_code == 400 and "team" in foreign.json()["errors"]


def test_anonymous_requests_are_refused() -> None:
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/missions/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
