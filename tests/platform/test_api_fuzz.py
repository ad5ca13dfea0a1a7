"""Schemathesis against /api/schema/: every operation, for anonymous, operator, reviewer, admin and another team's
admin, answers no 5xx, and every 4xx carries a `detail`.

Requests go through the whole Django stack in this process (schemathesis' WSGI client on config.wsgi), on one world
of real objects (the permission matrix's: a ready basemap with its COG, a drone image, a predicted target with a
heatmap, reviews, model versions, runs, exports) built once for the module; each test rolls its writes back. Every
non-negative generated id is swapped for the id of such an object, so the fuzzing gets past the lookups into
validation and state checks (negative ids stay, and find nothing). Two passes, kept small so the file runs in about
two minutes on two busy cores:

- coverage (schemathesis' explicit phase: boundary and wrong-type values of every parameter and body field), for the
  operator and the admin, the roles whose requests reach validation;
- random generation, a few examples per operation, for all five roles.

No operation is excluded. Jobs the API enqueues (ingest, localization, exports, fine-tuning) are sent only on
commit, which never happens here, so nothing long runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from config.wsgi import application
from tests.platform.factories import make_user
from tests.platform.test_permission_matrix import World, build_world

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

ROLES = ("anonymous", "operator", "reviewer", "admin", "outsider")
# The object kind an id in a path addresses, by the collection it follows.
COLLECTIONS = {
    "teams": "team", "missions": "mission", "basemaps": "basemap", "drone-images": "drone", "targets": "target",
    "predictions": "prediction", "reviews": "review", "model-versions": "version", "training-runs": "run",
    "exports": "export", "prediction-batches": "batch", "tiles": "basemap",
}  # fmt: skip
BODY_IDS = {
    "team": "team", "mission": "mission", "basemap": "basemap", "drone_image": "drone", "target": "target",
    "model_version": "version", "base_version": "version",
}  # fmt: skip
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
COMMON = {"deadline": None, "derandomize": True, "database": None, "suppress_health_check": list(HealthCheck)}


@pytest.fixture(autouse=True)
def media_root() -> Path:
    """The world's files live in this process's media folder for the whole module (overrides the per-test one)."""
    return Path(settings.MEDIA_ROOT)


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # noqa: ANN001
    """The permission matrix's world plus a token per role, in a transaction rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        make_user("newcomer")
        built = build_world(tmp_path_factory.mktemp("fuzz-world"))
        built.users["tokens"] = {role: Token.objects.create(user=user).key for role, user in built.users.items()}
        yield built
        transaction.set_rollback(True)


@pytest.fixture
def wsgi_requests(world: World, db: None) -> Iterator[dict[str, str]]:
    """Authorization headers per role. Django closes the database connection after each request unless told not to
    (its test client does the same): that would end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {role: f"Token {key}" for role, key in world.users["tokens"].items()}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def address_the_world(case, world: World) -> None:  # noqa: ANN001
    """Swap non-negative generated ids for ids of the world's objects (negative ones stay: unknown ids)."""
    parts = case.operation.path.strip("/").split("/")
    collection = parts[0] if parts[0] == "tiles" else parts[2]
    for name, value in (case.path_parameters or {}).items():
        if _an_id(value):
            kind = "membership" if name == "membership_id" else COLLECTIONS.get(collection)
            if name in ("id", "mission_id", "basemap_id", "membership_id") and kind:
                case.path_parameters[name] = world.ids[kind]
    if isinstance(case.body, dict):
        for name, kind in BODY_IDS.items():
            value = case.body.get(name)
            if _an_id(value):
                case.body[name] = world.ids[kind]


def _an_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check(case, role: str, headers: dict[str, str], world: World) -> None:  # noqa: ANN001
    address_the_world(case, world)
    response = case.call(headers={"Authorization": headers[role]} if role != "anonymous" else {})
    said = f"{role}: {case.method} {case.formatted_path} -> {response.status_code}: {response.content[:300]!r}"
    assert response.status_code < 500, said
    if 400 <= response.status_code < 500:
        try:
            body = json.loads(response.content)
        except ValueError:
            pytest.fail(f"a 4xx that is not JSON: {said}")
        assert isinstance(body, dict) and body.get("detail"), f"a 4xx without a detail: {said}"
    # the schema tells the truth: the status is documented, and the body has the documented type and shape
    case.validate_response(response, checks=CONFORMANCE)


@pytest.mark.parametrize("role", ["operator", "admin"])
@schema.parametrize()
@hypothesis_settings(phases=[Phase.explicit], **COMMON)
def test_coverage_cases_answer_no_5xx_and_every_4xx_has_a_detail(case, role, wsgi_requests, world) -> None:  # noqa: ANN001
    check(case, role, wsgi_requests, world)


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@hypothesis_settings(phases=[Phase.generate], max_examples=4, **COMMON)
def test_random_cases_answer_no_5xx_and_every_4xx_has_a_detail(case, role, wsgi_requests, world) -> None:  # noqa: ANN001
    check(case, role, wsgi_requests, world)
