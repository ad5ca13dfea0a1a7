"""Every /api/v1/ route (and the tiles) for anonymous, operator, reviewer, admin and another team's admin.

Each case states the status each of those five gets. Writes run inside a rolled-back transaction, so every role
meets the same world. A route the schema lists but this table lacks fails the test: new routes must be added.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import morecantile
import pytest
import yaml
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import transaction
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import Membership
from core.models import JobStatus
from exports.models import ExportJob
from localization.models import PredictionBatch
from registry.models import ModelActivation, TrainingRun
from tests.platform.builders import (
    checkpoint_bytes,
    jpeg_bytes,
    labelled_target,
    make_basemap,
    make_model_version,
    make_prediction,
    make_target,
    write_geotiff,
)
from tests.platform.factories import client_for, make_user, team_setup
from tests.platform.people_fixtures import token_of, waiting_invitation

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "operator", "reviewer", "admin", "outsider")


@dataclass
class World:
    ids: dict[str, int]
    users: dict[str, object]


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def build_world(tmp_path: Path) -> World:
    s = team_setup()
    users = {"operator": s.operator, "reviewer": s.reviewer, "admin": s.admin, "outsider": s.outsider}
    cog = write_geotiff(tmp_path / "cog.tif", width=512, height=512)
    basemap = make_basemap(s.mission, width=512, height=512, cog_path=cog)
    basemap.cog_sha256 = hashlib.sha256(cog.read_bytes()).hexdigest()
    basemap.save(update_fields=["cog_sha256"])
    upload = client_for(s.operator).post(
        "/api/v1/drone-images/",
        {"mission": s.mission.id, "file": ContentFile(jpeg_bytes(96, 64), name="DJI_0001.JPG")},
        format="multipart",
    )
    drone_id = upload.json()["id"]
    from missions.models import DroneImage

    drone = DroneImage.objects.get(id=drone_id)
    version = make_model_version(s.team, "field-v1")
    older = make_model_version(s.team, "field-v0")
    for v in (older, version):
        ModelActivation.objects.create(team=s.team, model_version=v, activated_by=s.admin)
    s.team.active_model = version
    s.team.save(update_fields=["active_model"])
    target = make_target(s.mission, drone, basemap, click=(20, 20))
    target.created_by = s.operator
    target.save(update_fields=["created_by"])
    prediction = make_prediction(target, version, [10, 10, 40, 40])
    prediction.heatmap.save("heat.png", ContentFile(png_bytes()))
    _, _, review = labelled_target(
        s.mission, drone, basemap, version, s.reviewer, decision="approve", box=[100, 100, 140, 130]
    )
    run = TrainingRun.objects.create(
        team=s.team, base_version=version, status=JobStatus.SUCCEEDED, params={"epochs": 1}
    )
    export = ExportJob.objects.create(mission=s.mission, status=JobStatus.SUCCEEDED, created_by=s.operator)
    batch = PredictionBatch.objects.create(
        mission=s.mission, model_version=version, status=JobStatus.SUCCEEDED, created_by=s.reviewer
    )
    export.file.save("export.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    tile = morecantile.tms.get("WebMercatorQuad").tile(*_centre_lonlat(basemap), 16)
    ids = {
        "team": s.team.id,
        "mission": s.mission.id,
        "basemap": basemap.id,
        "drone": drone.id,
        "target": target.id,
        "prediction": prediction.id,
        "review": review.id,
        "version": version.id,
        "run": run.id,
        "export": export.id,
        "batch": batch.id,
        "membership": Membership.objects.get(user=s.operator).id,
        "invitation": waiting_invitation(s.team).id,
        "token": token_of(s.operator).id,  # the operator's own API token
        "tile_x": tile.x,
        "tile_y": tile.y,
    }
    return World(ids, users)


def _centre_lonlat(basemap) -> tuple[float, float]:  # noqa: ANN001
    west, south, east, north = basemap.bounds
    return (west + east) / 2, (south + north) / 2


def multipart_drone(w: World) -> dict:
    return {"mission": w.ids["mission"], "file": ContentFile(jpeg_bytes(64, 48), name="DJI_0002.JPG")}


def multipart_basemap(w: World) -> dict:
    return {
        "mission": w.ids["mission"],
        "file": ContentFile(png_bytes(), name="map.png"),
        "bounds": "15.0,45.0,15.01,45.01",
    }


def multipart_checkpoint(w: World) -> dict:
    return {
        "team": w.ids["team"],
        "name": "uploaded",
        "checkpoint": ContentFile(checkpoint_bytes(seed=99), name="model.pt"),
    }


@dataclass
class Case:
    method: str
    path: str
    expect: tuple[int, int, int, int, int]  # anonymous, operator, reviewer, admin, outsider
    body: Callable[[World], dict] | None = None
    multipart: bool = False


U, OK, NEW, NONE, BAD, FORBID, MISSING, CONFLICT = 401, 200, 201, 204, 400, 403, 404, 409
MEMBERS_READ = (U, OK, OK, OK, MISSING)
LIST = (U, OK, OK, OK, OK)  # another team's member sees an empty list, never our rows

CASES = [
    Case("GET", "/api/v1/me/", LIST),
    Case("GET", "/api/v1/teams/", LIST),
    Case("POST", "/api/v1/teams/", (U, FORBID, FORBID, FORBID, FORBID), lambda w: {"name": "A new team"}),
    Case("GET", "/api/v1/teams/{team}/", MEMBERS_READ),
    Case("GET", "/api/v1/teams/{team}/members/", MEMBERS_READ),
    Case(
        "POST",
        "/api/v1/teams/{team}/members/",
        (U, FORBID, FORBID, OK, MISSING),
        lambda w: {"username": "newcomer", "role": "operator"},
    ),
    Case("DELETE", "/api/v1/teams/{team}/members/{membership}/", (U, FORBID, FORBID, NONE, MISSING)),
    # people and API tokens: role changes, invitations, the user's own tokens
    Case(
        "PATCH",
        "/api/v1/teams/{team}/members/{membership}/",
        (U, FORBID, FORBID, OK, MISSING),
        lambda w: {"role": "reviewer"},
    ),
    Case("GET", "/api/v1/teams/{team}/invitations/", (U, FORBID, FORBID, OK, MISSING)),
    Case(
        "POST",
        "/api/v1/teams/{team}/invitations/",
        (U, FORBID, FORBID, NEW, MISSING),
        lambda w: {"username": "invitee", "role": "operator"},
    ),
    Case("DELETE", "/api/v1/teams/{team}/invitations/{invitation}/", (U, FORBID, FORBID, NONE, MISSING)),
    Case("GET", "/api/v1/me/tokens/", LIST),
    Case("POST", "/api/v1/me/tokens/", (U, NEW, NEW, NEW, NEW), lambda w: {"name": "a new script"}),
    Case("DELETE", "/api/v1/me/tokens/{token}/", (U, NONE, MISSING, MISSING, MISSING)),  # one's own token only
    Case("GET", "/api/v1/missions/", LIST),
    Case("POST", "/api/v1/missions/", (U, NEW, NEW, NEW, BAD), lambda w: {"team": w.ids["team"], "name": "New"}),
    Case("GET", "/api/v1/missions/{mission}/", MEMBERS_READ),
    Case(
        "PUT",
        "/api/v1/missions/{mission}/",
        (U, OK, OK, OK, MISSING),
        lambda w: {"team": w.ids["team"], "name": "Renamed", "description": ""},
    ),
    Case("PATCH", "/api/v1/missions/{mission}/", (U, OK, OK, OK, MISSING), lambda w: {"name": "Renamed"}),
    Case("GET", "/api/v1/missions/{mission}/export.geojson", MEMBERS_READ),
    Case("GET", "/api/v1/basemaps/", LIST),
    Case("POST", "/api/v1/basemaps/", (U, NEW, NEW, NEW, BAD), multipart_basemap, multipart=True),
    Case("GET", "/api/v1/basemaps/{basemap}/", MEMBERS_READ),
    Case("POST", "/api/v1/basemaps/{basemap}/retry/", (U, CONFLICT, CONFLICT, CONFLICT, MISSING)),
    Case("DELETE", "/api/v1/basemaps/{basemap}/", (U, FORBID, FORBID, CONFLICT, MISSING)),
    Case("GET", "/api/v1/drone-images/", LIST),
    Case("POST", "/api/v1/drone-images/", (U, NEW, NEW, NEW, BAD), multipart_drone, multipart=True),
    Case("GET", "/api/v1/drone-images/{drone}/", MEMBERS_READ),
    Case("GET", "/api/v1/drone-images/{drone}/file/", MEMBERS_READ),
    Case("GET", "/api/v1/drone-images/{drone}/thumbnail/", MEMBERS_READ),
    Case("GET", "/api/v1/targets/", LIST),
    Case(
        "POST",
        "/api/v1/targets/",
        (U, NEW, NEW, NEW, BAD),
        lambda w: {"drone_image": w.ids["drone"], "basemap": w.ids["basemap"], "click_x": 5, "click_y": 6},
    ),
    Case("GET", "/api/v1/targets/{target}/", MEMBERS_READ),
    Case("POST", "/api/v1/targets/{target}/retry/", (U, CONFLICT, CONFLICT, CONFLICT, MISSING)),
    Case("DELETE", "/api/v1/targets/{target}/", (U, NONE, FORBID, FORBID, MISSING)),  # its creator, unreviewed
    Case("GET", "/api/v1/targets/next-review/?mission={mission}", (U, FORBID, OK, OK, MISSING)),
    Case("GET", "/api/v1/predictions/", LIST),
    Case("GET", "/api/v1/predictions/{prediction}/", MEMBERS_READ),
    Case("GET", "/api/v1/predictions/{prediction}/heatmap/", MEMBERS_READ),
    Case("GET", "/api/v1/reviews/", LIST),
    Case(
        "POST",
        "/api/v1/reviews/",
        (U, FORBID, NEW, NEW, BAD),
        lambda w: {"target": w.ids["target"], "decision": "approve"},
    ),
    Case("GET", "/api/v1/reviews/{review}/", MEMBERS_READ),
    Case("GET", "/api/v1/model-versions/", LIST),
    Case("POST", "/api/v1/model-versions/", (U, FORBID, FORBID, NEW, BAD), multipart_checkpoint, multipart=True),
    Case("GET", "/api/v1/model-versions/{version}/", MEMBERS_READ),
    Case(
        "POST",
        "/api/v1/model-versions/{version}/activate/",
        (U, FORBID, FORBID, OK, MISSING),
        lambda w: {"team": w.ids["team"]},
    ),
    Case("POST", "/api/v1/model-versions/rollback/", (U, FORBID, FORBID, OK, BAD), lambda w: {"team": w.ids["team"]}),
    Case("GET", "/api/v1/model-versions/activations/?team={team}", (U, OK, OK, OK, BAD)),
    Case("GET", "/api/v1/training-runs/", LIST),
    Case(
        "POST", "/api/v1/training-runs/", (U, FORBID, FORBID, NEW, BAD), lambda w: {"team": w.ids["team"], "epochs": 1}
    ),
    Case("GET", "/api/v1/training-runs/{run}/", MEMBERS_READ),
    Case("POST", "/api/v1/training-runs/{run}/cancel/", (U, FORBID, FORBID, CONFLICT, MISSING)),
    Case("GET", "/api/v1/exports/", LIST),
    Case("POST", "/api/v1/exports/", (U, NEW, NEW, NEW, BAD), lambda w: {"mission": w.ids["mission"]}),
    Case("GET", "/api/v1/exports/{export}/", MEMBERS_READ),
    Case("GET", "/api/v1/exports/{export}/download/", MEMBERS_READ),
    Case("POST", "/api/v1/exports/{export}/cancel/", (U, CONFLICT, CONFLICT, CONFLICT, MISSING)),
    Case("GET", "/api/v1/prediction-batches/", LIST),
    Case(
        "POST",
        "/api/v1/prediction-batches/",
        (U, FORBID, NEW, NEW, BAD),
        lambda w: {"mission": w.ids["mission"], "model_version": w.ids["version"]},
    ),
    Case("GET", "/api/v1/prediction-batches/{batch}/", MEMBERS_READ),
    Case("POST", "/api/v1/prediction-batches/{batch}/cancel/", (U, FORBID, CONFLICT, CONFLICT, MISSING)),
    Case("GET", "/tiles/{basemap}/16/{tile_x}/{tile_y}.png", MEMBERS_READ),
]


def call(case: Case, world: World, role: str) -> int:
    client = APIClient() if role == "anonymous" else client_for(world.users[role])
    path = case.path.format(**world.ids)
    body = case.body(world) if case.body else None
    with transaction.atomic():
        response = getattr(client, case.method.lower())(path, body, format="multipart" if case.multipart else "json")
        transaction.set_rollback(True)
    return response.status_code


def test_every_route_answers_each_role_as_the_matrix_says(tmp_path: Path) -> None:
    make_user("newcomer")
    world = build_world(tmp_path)
    wrong = []
    for case in CASES:
        got = tuple(call(case, world, role) for role in ROLES)
        if got != case.expect:
            wrong.append(f"{case.method} {case.path}: expected {case.expect}, got {got}")
    assert wrong == [], "\n".join(wrong)


def test_the_matrix_covers_every_route_of_the_openapi_schema(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate")
    schema = yaml.safe_load(out.read_text())
    listed = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    covered = {(case.method, _template(case.path)) for case in CASES}
    assert listed - covered == set(), "routes without a row in the permission matrix"
    assert covered - listed == set(), "routes missing from the OpenAPI schema"


def _template(path: str) -> str:
    """/api/v1/teams/{team}/members/{membership}/ -> the schema's /api/v1/teams/{id}/members/{membership_id}/."""
    path = path.split("?")[0]
    replacements = {
        "/teams/{team}/members/{membership}/": "/teams/{id}/members/{membership_id}/",
        "/teams/{team}/invitations/{invitation}/": "/teams/{id}/invitations/{invitation_id}/",
        "/me/tokens/{token}/": "/me/tokens/{token_id}/",
        "/missions/{mission}/export.geojson": "/missions/{mission_id}/export.geojson",
        "/tiles/{basemap}/16/{tile_x}/{tile_y}.png": "/tiles/{basemap_id}/{z}/{x}/{y}.png",
    }
    for old, new in replacements.items():
        path = path.replace(old, new)
    for name in (
        "team",
        "mission",
        "basemap",
        "drone",
        "target",
        "prediction",
        "review",
        "version",
        "run",
        "export",
        "batch",
    ):
        path = path.replace("{" + name + "}", "{id}")
    return path
