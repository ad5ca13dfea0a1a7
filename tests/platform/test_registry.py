"""Model versions: registration from a checkpoint (API and command), activation, rollback, history, visibility."""

import hashlib
import io
from pathlib import Path

import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import Role
from registry.models import ModelActivation, ModelVersion
from tests.platform.builders import checkpoint_bytes, make_model_version
from tests.platform.factories import add_member, client_for, make_team, team_setup

pytestmark = pytest.mark.django_db

URL = "/api/v1/model-versions/"


def upload(data: bytes, name: str = "model.pt") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def register(client: APIClient, team_id: int, data: bytes, name: str = "field-v1", **extra: object):  # noqa: ANN201
    return client.post(URL, {"team": team_id, "name": name, "checkpoint": upload(data), **extra}, format="multipart")


def stored_checkpoints(settings) -> list[Path]:  # noqa: ANN001
    folder = Path(settings.MEDIA_ROOT) / "checkpoints"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_checkpoints_metrics_are_stored_with_the_set_they_were_measured_on() -> None:
    setup = team_setup()
    config = {"model": {"query_size": [128, 128]}, "data": {"data_name": "SynthDroneAerial"}}
    data = checkpoint_bytes(config=config, metrics={"acc@0.5": 0.49, "n": 200})
    metrics = register(client_for(setup.admin), setup.team.id, data).json()["metrics"]
    assert metrics["n"] == 200 and metrics["set"]["id"] == "val:SynthDroneAerial" and metrics["set"]["n"] == 200
    assert metrics["set"]["name"] == "SynthDroneAerial val (picked the checkpoint)"


def test_an_admin_registers_a_checkpoint_with_its_config_and_metrics() -> None:
    setup = team_setup()
    data = checkpoint_bytes(metrics={"acc@0.5": 0.61, "loss": float("nan")})
    response = register(client_for(setup.admin), setup.team.id, data)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["team"] == setup.team.id and body["shared"] is False and body["name"] == "field-v1"
    assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["size_bytes"] == len(data)
    assert body["config"]["model"]["query_size"] == [128, 128]
    measured = body["metrics"].pop("set")
    assert body["metrics"] == {"acc@0.5": 0.61, "loss": None}  # NaN cannot be stored as JSON
    assert measured["kind"] == "val" and measured["n"] is None  # a checkpoint that does not say on how many labels
    assert body["is_active"] is False and body["created_by"] == setup.admin.username
    version = ModelVersion.objects.get(id=body["id"])
    assert version.checkpoint.read() == data


def test_registering_the_same_file_again_returns_the_existing_version(settings) -> None:
    setup = team_setup()
    data = checkpoint_bytes()
    first = register(client_for(setup.admin), setup.team.id, data)
    again = register(client_for(setup.admin), setup.team.id, data, name="another name")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert ModelVersion.objects.count() == 1 and len(stored_checkpoints(settings)) == 1


def _saved(payload: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x89PNG\r\n\x1a\n not a checkpoint at all", "not a file written by torch.save"),
        (checkpoint_bytes()[:300], "truncated or corrupt"),
        (_saved({"model": {"w": torch.zeros(1)}, "config": {"model": {}}, "x": Path("/")}), "never loaded (unsafe)"),
    ],
    ids=["foreign", "truncated", "unsafe-object"],
)
def test_unreadable_files_are_refused_and_nothing_is_stored(settings, data: bytes, problem: str) -> None:
    setup = team_setup()
    response = register(client_for(setup.admin), setup.team.id, data)
    assert response.status_code == 400 and response.json()["field"] == "checkpoint"
    assert problem in response.json()["detail"]
    assert ModelVersion.objects.count() == 0 and stored_checkpoints(settings) == []


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([1, 2, 3], "needs 'model' and 'config'"),
        ({"model": {"w": torch.zeros(2)}}, "needs 'model' and 'config'"),
        ({"model": {"w": 3}, "config": {"model": {}}}, "dict of tensors"),
        ({"model": {"w": torch.zeros(2)}, "config": {"train": {}}}, "'model' section"),
        ({"model": {"w": torch.zeros(2)}, "config": {"model": {}}, "metrics": [0.5]}, "'metrics' must be a dict"),
    ],
    ids=["list", "no-config", "not-tensors", "no-model-section", "bad-metrics"],
)
def test_checkpoints_of_another_shape_are_refused(settings, payload: object, problem: str) -> None:
    setup = team_setup()
    response = register(client_for(setup.admin), setup.team.id, _saved(payload))
    assert response.status_code == 400 and problem in response.json()["detail"]
    assert ModelVersion.objects.count() == 0 and stored_checkpoints(settings) == []


def test_a_checkpoint_over_the_upload_limit_answers_413(settings) -> None:
    settings.MAX_UPLOAD_BYTES = 1000
    setup = team_setup()
    response = register(client_for(setup.admin), setup.team.id, checkpoint_bytes())
    assert response.status_code == 413 and response.json()["field"] == "checkpoint"
    assert ModelVersion.objects.count() == 0 and stored_checkpoints(settings) == []


def test_a_name_already_used_in_the_team_answers_409() -> None:
    setup = team_setup()
    make_model_version(setup.team, "field-v1")
    response = register(client_for(setup.admin), setup.team.id, checkpoint_bytes(seed=7))
    assert response.status_code == 409 and response.json()["field"] == "name"


def test_who_may_register() -> None:
    setup = team_setup()
    data = checkpoint_bytes()
    for user in (setup.operator, setup.reviewer):
        denied = register(client_for(user), setup.team.id, data)
        assert denied.status_code == 403 and "team admins" in denied.json()["detail"]
    foreign = register(client_for(setup.outsider), setup.team.id, data)
    assert foreign.status_code == 400 and "team" in foreign.json()["errors"]
    assert register(APIClient(), setup.team.id, data).status_code == 401
    assert ModelVersion.objects.count() == 0


def test_a_parent_must_be_a_version_the_team_can_run() -> None:
    setup = team_setup()
    theirs = make_model_version(setup.other_team)
    shared = make_model_version(None, "base")
    bad = register(client_for(setup.admin), setup.team.id, checkpoint_bytes(), parent=theirs.id)
    assert bad.status_code == 400 and "parent" in bad.json()["errors"]
    good = register(client_for(setup.admin), setup.team.id, checkpoint_bytes(), parent=shared.id)
    assert good.status_code == 201 and good.json()["parent"]["id"] == shared.id


def test_members_see_their_teams_versions_and_the_shared_ones_only() -> None:
    setup = team_setup()
    mine, theirs, shared = (
        make_model_version(setup.team),
        make_model_version(setup.other_team),
        make_model_version(None),
    )
    listed = client_for(setup.operator).get(URL).json()
    assert {v["id"] for v in listed["results"]} == {mine.id, shared.id}
    assert client_for(setup.operator).get(f"{URL}{theirs.id}/").status_code == 404
    assert client_for(setup.outsider).get(f"{URL}{shared.id}/").status_code == 200
    assert APIClient().get(URL).status_code == 401
    wrong = client_for(setup.operator).get(URL, {"team": setup.other_team.id})
    assert wrong.status_code == 400 and wrong.json()["field"] == "team"


def test_detail_shows_lineage_parent_first() -> None:
    setup = team_setup()
    base = make_model_version(None, "base")
    first = make_model_version(setup.team, "ft1", parent=base)
    second = make_model_version(setup.team, "ft2", parent=first)
    body = client_for(setup.reviewer).get(f"{URL}{second.id}/").json()
    assert body["parent"]["name"] == "ft1" and [v["name"] for v in body["lineage"]] == ["ft1", "base"]


def test_an_admin_activates_a_version_and_everyone_sees_it_active() -> None:
    setup = team_setup()
    version = make_model_version(setup.team)
    response = client_for(setup.admin).post(f"{URL}{version.id}/activate/", {})
    assert response.status_code == 200 and response.json()["activated_by"] == setup.admin.username
    setup.team.refresh_from_db()
    assert setup.team.active_model_id == version.id
    body = client_for(setup.operator).get(f"{URL}{version.id}/").json()
    assert body["is_active"] is True and body["active_for_teams"] == [setup.team.id]
    assert body["promoted_by"] == setup.admin.username and body["promoted_at"]


def test_activation_permissions() -> None:
    setup = team_setup()
    version = make_model_version(setup.team)
    denied = client_for(setup.reviewer).post(f"{URL}{version.id}/activate/", {})
    assert denied.status_code == 403 and "team admins" in denied.json()["detail"]
    assert client_for(setup.outsider).post(f"{URL}{version.id}/activate/", {}).status_code == 404
    assert APIClient().post(f"{URL}{version.id}/activate/", {}).status_code == 401
    assert ModelActivation.objects.count() == 0


def test_a_shared_version_is_activated_by_each_team_for_itself() -> None:
    setup = team_setup()
    shared = make_model_version(None, "base")
    ours = client_for(setup.admin).post(f"{URL}{shared.id}/activate/", {"team": setup.team.id})
    theirs = client_for(setup.outsider).post(f"{URL}{shared.id}/activate/", {})  # their only team by default
    assert ours.status_code == 200 and theirs.status_code == 200
    setup.team.refresh_from_db(), setup.other_team.refresh_from_db()
    assert setup.team.active_model_id == shared.id == setup.other_team.active_model_id
    foreign = client_for(setup.outsider).post(f"{URL}{shared.id}/activate/", {"team": setup.team.id})
    assert foreign.status_code == 400 and "team" in foreign.json()["errors"]


def test_an_admin_of_two_teams_names_the_team_for_a_shared_version() -> None:
    setup = team_setup()
    add_member(make_team(), Role.ADMIN, user=setup.admin)
    shared = make_model_version(None, "base")
    response = client_for(setup.admin).post(f"{URL}{shared.id}/activate/", {})
    assert response.status_code == 400 and response.json()["field"] == "team"


def test_rollback_walks_back_through_the_activation_history() -> None:
    setup = team_setup()
    client = client_for(setup.admin)
    a, b, c = (make_model_version(setup.team, name) for name in ("a", "b", "c"))
    for version in (a, b, c):
        assert client.post(f"{URL}{version.id}/activate/", {}).status_code == 200
    rollback = f"{URL}rollback/"
    assert client.post(rollback, {"team": setup.team.id}).json()["model_version"]["name"] == "b"
    assert client.post(rollback, {"team": setup.team.id}).json()["model_version"]["name"] == "a"
    last = client.post(rollback, {"team": setup.team.id})
    assert last.status_code == 409 and "no earlier model version" in last.json()["detail"]
    setup.team.refresh_from_db()
    assert setup.team.active_model_id == a.id
    history = client_for(setup.operator).get(f"{URL}activations/", {"team": setup.team.id}).json()["results"]
    assert [(h["model_version"]["name"], h["reason"]) for h in history] == [
        ("a", "rollback"), ("b", "rollback"), ("c", "activate"), ("b", "activate"), ("a", "activate"),
    ]  # fmt: skip


def test_rollback_needs_an_earlier_version_and_an_admin() -> None:
    setup = team_setup()
    rollback = f"{URL}rollback/"
    assert client_for(setup.admin).post(rollback, {"team": setup.team.id}).status_code == 409
    assert client_for(setup.reviewer).post(rollback, {"team": setup.team.id}).status_code == 403
    foreign = client_for(setup.outsider).post(rollback, {"team": setup.team.id})
    assert foreign.status_code == 400 and "team" in foreign.json()["errors"]
    assert APIClient().post(rollback, {"team": setup.team.id}).status_code == 401


def test_activation_history_is_scoped_to_my_teams() -> None:
    setup = team_setup()
    shared = make_model_version(None, "base")
    client_for(setup.outsider).post(f"{URL}{shared.id}/activate/", {})
    assert client_for(setup.admin).get(f"{URL}activations/").json()["results"] == []
    wrong = client_for(setup.admin).get(f"{URL}activations/", {"team": setup.other_team.id})
    assert wrong.status_code == 400


# ------------------------------------------------------------------------------------------ the command
def test_register_model_command_is_idempotent_and_activates_teams_without_a_model(tmp_path, capsys) -> None:
    setup = team_setup()
    already = make_model_version(setup.other_team)
    setup.other_team.active_model = already
    setup.other_team.save()
    path = tmp_path / "base.pt"
    path.write_bytes(checkpoint_bytes(metrics={"acc@0.5": 0.4}))
    call_command("register_model", str(path), "--name", "smgeo-base", "--activate")
    call_command("register_model", str(path), "--name", "smgeo-base")
    out = capsys.readouterr().out
    assert "registered model version" in out and "already registered as" in out
    version = ModelVersion.objects.get(name="smgeo-base")
    assert version.team is None and version.metrics["acc@0.5"] == 0.4 and version.metrics["set"]["kind"] == "val"
    setup.team.refresh_from_db(), setup.other_team.refresh_from_db()
    assert setup.team.active_model_id == version.id and setup.other_team.active_model_id == already.id


def test_register_model_command_for_a_team(tmp_path) -> None:
    setup = team_setup()
    path = tmp_path / "team.pt"
    path.write_bytes(checkpoint_bytes())
    call_command("register_model", str(path), "--name", "team-v1", "--team", setup.team.name, "--activate")
    setup.team.refresh_from_db()
    assert setup.team.active_model.name == "team-v1" and setup.team.active_model.team_id == setup.team.id
    assert ModelActivation.objects.get().reason == "register_model"


def test_register_model_command_refuses_bad_files_and_teams(tmp_path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(CommandError, match="not a readable PyTorch checkpoint"):
        call_command("register_model", str(bad), "--name", "x")
    with pytest.raises(CommandError, match="no checkpoint file"):
        call_command("register_model", str(tmp_path / "missing.pt"), "--name", "x")
    with pytest.raises(CommandError, match="no team named"):
        call_command("register_model", str(bad), "--name", "x", "--team", "nobody")
    assert ModelVersion.objects.count() == 0
