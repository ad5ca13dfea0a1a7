"""DELETE /api/v1/targets/<id>/: a mis-click removed by the one who made it, until someone reviews it."""

import pytest

from localization.models import Prediction, Target
from tests.platform.factories import client_for, team_setup
from tests.platform.localization_fixtures import make_predicted_target, make_target

pytestmark = pytest.mark.django_db(transaction=True)


def url(target: Target) -> str:
    return f"/api/v1/targets/{target.id}/"


def test_its_creator_deletes_an_unreviewed_target_with_its_predictions() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    heatmap = Prediction.objects.get(target=target).heatmap
    assert heatmap.storage.exists(heatmap.name)
    response = client_for(setup.operator).delete(url(target))
    assert response.status_code == 204
    assert not Target.objects.filter(id=target.id).exists()
    assert not Prediction.objects.filter(target_id=target.id).exists()
    assert not heatmap.storage.exists(heatmap.name)  # no orphan file left in storage
    assert client_for(setup.operator).delete(url(target)).status_code == 404


def test_someone_else_gets_403_naming_the_creator() -> None:
    setup = team_setup()
    target = make_target(setup.mission, by=setup.operator, status="queued")
    response = client_for(setup.admin).delete(url(target))
    assert response.status_code == 403
    assert setup.operator.username in response.json()["detail"] and "can delete" in response.json()["detail"]
    assert Target.objects.filter(id=target.id).exists()


def test_another_teams_member_sees_no_such_target() -> None:
    setup = team_setup()
    target = make_target(setup.mission, by=setup.operator)
    assert client_for(setup.outsider).delete(url(target)).status_code == 404
    assert Target.objects.filter(id=target.id).exists()


def test_a_reviewed_target_stays_with_409_naming_the_review() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    review = client_for(setup.reviewer).post("/api/v1/reviews/", {"target": target.id, "decision": "approve"})
    assert review.status_code == 201, review.json()
    response = client_for(setup.operator).delete(url(target))
    assert response.status_code == 409
    body = response.json()
    assert "reviewed" in body["detail"] and setup.reviewer.username in body["detail"] and "approve" in body["detail"]
    assert body["status"] == "approved"
    assert Target.objects.filter(id=target.id).exists()


def test_a_reopened_target_keeps_its_history_and_stays() -> None:
    setup = team_setup()
    target = make_predicted_target(setup.mission, by=setup.operator)
    reviewer = client_for(setup.reviewer)
    assert reviewer.post("/api/v1/reviews/", {"target": target.id, "decision": "reject"}).status_code == 201
    assert reviewer.post("/api/v1/reviews/", {"target": target.id, "decision": "reopen"}).status_code == 201
    assert client_for(setup.operator).delete(url(target)).status_code == 409


def test_a_bad_id_is_404() -> None:
    setup = team_setup()
    assert client_for(setup.operator).delete("/api/v1/targets/99999999/").status_code == 404
