import pytest

from accounts.models import Membership, Role, Team
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
    user.is_staff = True
    user.save()
    response = client_for(user).post("/api/v1/teams/", {"name": "Field team North"})
    assert response.status_code == 201 and response.json()["my_role"] == "admin"


def test_only_site_staff_create_teams_unless_the_setting_opens_it(settings) -> None:  # noqa: ANN001
    user = make_user()
    refused = client_for(user).post("/api/v1/teams/", {"name": "My own team"})
    assert refused.status_code == 403 and "site staff" in refused.json()["detail"]
    assert not Team.objects.filter(name="My own team").exists()
    settings.TEAM_CREATORS = "anyone"
    assert client_for(user).post("/api/v1/teams/", {"name": "My own team"}).status_code == 201


@pytest.mark.parametrize(
    "twin",
    ["Demo team", "demo TEAM", "Demo Team\u200b", "  Demo   Team ", "Demo\tTeam", "Ｄｅｍｏ Team"],
)
def test_team_names_are_compared_normalised_and_case_insensitively(settings, twin: str) -> None:  # noqa: ANN001
    settings.TEAM_CREATORS = "anyone"
    user = make_user()
    assert client_for(user).post("/api/v1/teams/", {"name": "Demo Team"}).status_code == 201
    clash = client_for(user).post("/api/v1/teams/", {"name": twin})
    assert clash.status_code == 409 and "already exists" in clash.json()["detail"], clash.json()
    assert Team.objects.count() == 1


def test_a_team_name_is_stored_without_invisible_characters(settings) -> None:  # noqa: ANN001
    settings.TEAM_CREATORS = "anyone"
    created = client_for(make_user()).post("/api/v1/teams/", {"name": "North\u200b \u202eTeam\x07"})
    assert created.status_code == 201 and created.json()["name"] == "North Team"
    empty = client_for(make_user()).post("/api/v1/teams/", {"name": "\u200b\u200d"})
    assert empty.status_code == 400 and "name" in empty.json()["detail"]


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
