import pytest

from config.celery_app import app
from tests.platform.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_is_503_naming_the_workers_when_none_answers(client) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["down"] == ["workers"]
    assert body["database"]["ok"] and body["broker"]["ok"]


def test_healthz_is_503_naming_the_broker_when_it_is_down(client, monkeypatch) -> None:
    monkeypatch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["down"] == ["broker", "workers"]
    assert body["broker"] == {"ok": False} and body["database"] == {"ok": True}  # what is down, not why, anonymously
    client.force_login(make_user("ops", is_staff=True))
    staff = client.get("/healthz").json()
    assert "Error" in staff["broker"]["detail"] and staff["database"] == {"ok": True, "detail": "postgresql"}


def test_healthz_is_200_with_database_broker_and_a_worker(client, celery_worker) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["workers"]["count"] >= 1
    assert celery_worker.hostname not in response.content.decode() and "pid" not in body["web"]
    client.force_login(make_user("ops", is_staff=True))
    staff = client.get("/healthz").json()
    assert celery_worker.hostname in staff["workers"]["answered"] and staff["web"]["pid"] > 0
