"""Training runs: trigger (frozen snapshot + enqueue), validation, one active run per team, cancel, and the calls
the fine-tune worker makes (claim, progress, finish, fail)."""

import pytest
from rest_framework.test import APIClient

from core.errors import Conflict
from core.models import JobStatus
from registry.comparison import paired_comparison, set_info
from registry.models import ModelVersion, TrainingRun
from registry.selectors import dataset_snapshot, labels_by_review_ids
from registry.training_runs import (
    training_run_claim,
    training_run_fail,
    training_run_finish,
    training_run_mark_cancelled,
    training_run_progress,
)
from tests.conftest import drain_queue
from tests.platform.builders import (
    checkpoint_bytes,
    labelled_target,
    make_basemap,
    make_drone_image,
    make_model_version,
    make_prediction,
    make_review,
    make_target,
)
from tests.platform.factories import client_for, make_mission, team_setup

pytestmark = pytest.mark.django_db

URL = "/api/v1/training-runs/"


@pytest.fixture
def trained():  # noqa: ANN201
    """A team with an active version and labels: 1 approved, 1 corrected twice, 1 rejected, 1 only predicted."""
    setup = team_setup()
    version = make_model_version(setup.team, "v1")
    setup.team.active_model = version
    setup.team.save(update_fields=["active_model"])
    image, basemap = make_drone_image(setup.mission), make_basemap(setup.mission)
    reviewer = setup.reviewer
    _, _, approved = labelled_target(
        setup.mission, image, basemap, version, reviewer, decision="approve", box=[10, 10, 50, 40]
    )
    target, prediction, _ = labelled_target(
        setup.mission,
        image,
        basemap,
        version,
        reviewer,
        decision="correct",
        box=[100, 100, 150, 140],
        final_box=[102, 98, 150, 141],
    )
    corrected = make_review(target, reviewer, "correct", prediction=prediction, final_box=[104, 99, 151, 142])
    labelled_target(setup.mission, image, basemap, version, reviewer, decision="reject", box=[0, 0, 5, 5])
    make_prediction(make_target(setup.mission, image, basemap), version, [300, 300, 320, 320])
    setup.labels = [approved.id, corrected.id]
    setup.version = version
    return setup


def start(client: APIClient, team_id: int, **body: object):  # noqa: ANN201
    return client.post(URL, {"team": team_id, "epochs": 3, **body})


def test_the_snapshot_is_the_latest_review_of_every_approved_or_corrected_target(trained) -> None:
    other = make_mission(trained.other_team)
    theirs = make_model_version(trained.other_team)
    labelled_target(
        other,
        make_drone_image(other),
        make_basemap(other),
        theirs,
        trained.outsider,
        decision="approve",
        box=[1, 1, 9, 9],
    )
    ids, digest = dataset_snapshot(trained.team.id)
    assert ids == sorted(trained.labels)
    assert dataset_snapshot(trained.team.id) == (ids, digest) and len(digest) == 64
    boxes = [label.label_box for label in labels_by_review_ids(ids)]  # what the fine-tune worker will read
    assert boxes == [[10, 10, 50, 40], [104, 99, 151, 142]]


@pytest.mark.django_db(transaction=True)
def test_an_admin_starts_a_run_on_a_frozen_snapshot_and_it_is_enqueued(trained, broker_queues) -> None:
    response = start(client_for(trained.admin), trained.team.id, batch_size=4, lr=0.0002, replay=0.2)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["base_version"]["id"] == trained.version.id
    assert body["params"] == {"epochs": 3, "steps": None, "batch_size": 4, "lr": 0.0002, "replay": 0.2}
    assert body["dataset"]["label_review_ids"] == sorted(trained.labels) and body["dataset"]["label_count"] == 2
    assert drain_queue("gpu") == [("workers.fine_tune", [body["id"]])]
    run = TrainingRun.objects.get(id=body["id"])
    assert run.task_id  # the Celery id of the message sent on commit
    image = make_drone_image(trained.mission)
    labelled_target(
        trained.mission,
        image,
        make_basemap(trained.mission),
        trained.version,
        trained.reviewer,
        decision="approve",
        box=[5, 5, 20, 20],
    )
    run.refresh_from_db()
    assert run.dataset_label_ids == sorted(trained.labels)  # labels reviewed later are not in this run


def test_a_team_without_labels_cannot_train() -> None:
    setup = team_setup()
    setup.team.active_model = make_model_version(setup.team)
    setup.team.save()
    response = start(client_for(setup.admin), setup.team.id)
    assert response.status_code == 400 and "no reviewed labels yet" in response.json()["detail"]
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 201}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": -1}, "lr"),
        ({"lr": 5}, "lr"),
        ({"lr": 1e-320}, "lr"),
        ({"lr": 0.5}, "lr"),
        ({"epochs": "many"}, "epochs"),
        ({"replay": 0.9}, "replay"),
        ({"replay": -0.1}, "replay"),
        ({"steps": 0}, "steps"),
        ({"steps": 20001}, "steps"),
        ({"steps": 300}, "steps"),  # with epochs (start() sends 3): one budget or the other
    ],
)
def test_bad_hyper_parameters_are_refused_naming_the_field(trained, body: dict, field: str) -> None:
    response = start(client_for(trained.admin), trained.team.id, **body)
    assert response.status_code == 400 and field in response.json()["detail"]
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_that_names_no_budget_takes_the_fine_tune_recipes(trained, broker_queues) -> None:
    response = client_for(trained.admin).post(URL, {"team": trained.team.id}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["params"] == {"epochs": None, "steps": None, "batch_size": 8, "lr": None, "replay": 0.0}
    drain_queue("gpu")


def test_the_base_version_must_be_one_the_team_can_run(trained) -> None:
    theirs = make_model_version(trained.other_team)
    response = start(client_for(trained.admin), trained.team.id, base_version=theirs.id)
    assert response.status_code == 400 and "base_version" in response.json()["detail"]
    shared = make_model_version(None, "base")
    assert start(client_for(trained.admin), trained.team.id, base_version=shared.id).status_code == 201


def test_without_an_active_version_the_base_must_be_named(trained) -> None:
    trained.team.active_model = None
    trained.team.save()
    response = start(client_for(trained.admin), trained.team.id)
    assert response.status_code == 400 and response.json()["field"] == "base_version"


def test_a_second_active_run_is_refused_until_the_first_is_cancelled(trained) -> None:
    client = client_for(trained.admin)
    first = start(client, trained.team.id).json()
    second = start(client, trained.team.id)
    assert second.status_code == 409 and f"training run {first['id']}" in second.json()["detail"]
    cancelled = client.post(f"{URL}{first['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert start(client, trained.team.id).status_code == 201


def test_cancel_a_running_run_asks_the_worker_and_a_finished_run_answers_409(trained) -> None:
    client = client_for(trained.admin)
    run_id = start(client, trained.team.id).json()["id"]
    training_run_claim(run_id=run_id, task_id="t-1")
    response = client.post(f"{URL}{run_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "running"
    assert response.json()["cancel_requested"] is True
    assert training_run_progress(run_id=run_id, step=3, total_steps=10) is True  # the worker learns it must stop
    training_run_mark_cancelled(run_id=run_id)
    again = client.post(f"{URL}{run_id}/cancel/")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]


def test_who_may_read_start_and_cancel_runs(trained) -> None:
    run_id = start(client_for(trained.admin), trained.team.id).json()["id"]
    for user in (trained.operator, trained.reviewer):
        client = client_for(user)
        assert client.get(f"{URL}{run_id}/").status_code == 200
        assert client.get(URL).json()["count"] == 1
        assert start(client, trained.team.id).status_code == 403
        assert client.post(f"{URL}{run_id}/cancel/").status_code == 403
    outsider = client_for(trained.outsider)
    assert outsider.get(f"{URL}{run_id}/").status_code == 404
    assert outsider.post(f"{URL}{run_id}/cancel/").status_code == 404
    assert outsider.get(URL).json()["count"] == 0
    foreign = start(outsider, trained.team.id)
    assert foreign.status_code == 400 and "team" in foreign.json()["errors"]
    assert APIClient().get(URL).status_code == 401 and APIClient().post(URL, {}).status_code == 401


# ------------------------------------------------------------------------------------------ worker calls
def _running(trained) -> int:  # noqa: ANN001
    run_id = start(client_for(trained.admin), trained.team.id).json()["id"]
    assert training_run_claim(run_id=run_id, task_id="t-1").status == JobStatus.RUNNING
    return run_id


def test_claim_is_atomic_and_progress_is_recorded(trained) -> None:
    run_id = _running(trained)
    assert training_run_claim(run_id=run_id) is None and training_run_claim(run_id=999999) is None
    entries = [{"kind": "train", "epoch": 1, "loss": 1.5}, {"kind": "val", "epoch": 1, "acc@0.5": 0.3}]
    stop = training_run_progress(
        run_id=run_id,
        epoch=1,
        step=5,
        total_steps=20,
        loss=1.5,
        eta_s=30.0,
        history=entries,
        log_text="epoch 1 done\n",
        message="epoch 1/3",
    )
    assert stop is False
    body = client_for(trained.operator).get(f"{URL}{run_id}/").json()
    assert (body["epoch"], body["step"], body["total_steps"], body["loss"], body["eta_s"]) == (1, 5, 20, 1.5, 30.0)
    assert body["progress"] == 0.25 and body["history"] == entries and body["log"] == "epoch 1 done\n"


def test_finish_registers_the_version_with_its_lineage(trained, tmp_path) -> None:
    run_id = _running(trained)
    path = tmp_path / "best.pt"
    path.write_bytes(checkpoint_bytes(seed=99))
    version = training_run_finish(
        run_id=run_id, checkpoint_path=path, base_metrics={"acc@0.5": 0.4}, new_metrics={"acc@0.5": 0.55}
    )
    assert version.team_id == trained.team.id and version.parent_id == trained.version.id
    assert version.training_run_id == run_id and version.metrics == {"acc@0.5": 0.55}
    body = client_for(trained.reviewer).get(f"{URL}{run_id}/").json()
    assert body["status"] == "succeeded" and body["result_version"]["id"] == version.id and body["progress"] == 1.0
    assert body["base_metrics"] == {"acc@0.5": 0.4} and body["new_metrics"] == {"acc@0.5": 0.55}
    detail = client_for(trained.reviewer).get(f"/api/v1/model-versions/{version.id}/").json()
    assert detail["training_run"] == run_id and detail["lineage"][0]["id"] == trained.version.id
    trained.team.refresh_from_db()
    assert trained.team.active_model_id == trained.version.id  # promoted only when an admin says so


@pytest.mark.parametrize(
    ("better", "worse", "n", "promoted"),
    [(12, 0, 24, True), (4, 0, 4, False), (5, 3, 30, False), (0, 0, 0, False)],
)
def test_auto_promote_needs_enough_labels_and_a_gain_beyond_noise(trained, tmp_path, better, worse, n, promoted):  # noqa: ANN001, ANN201
    trained.team.auto_promote = True
    trained.team.save()
    run_id = _running(trained)
    path = tmp_path / "best.pt"
    path.write_bytes(checkpoint_bytes(seed=98))
    base = {i: 0.9 if i >= better else 0.1 for i in range(n)}  # the first `better` labels: only the new one hits
    new = {i: 0.9 if i < n - worse else 0.1 for i in range(n)}  # the last `worse` labels: only the base hits
    comparison = paired_comparison(base, new, set_info("held-out", "held-out labels", range(n)), min_n=20)
    assert (len(comparison["better"]), len(comparison["worse"])) == (better, worse)
    version = training_run_finish(
        run_id=run_id, checkpoint_path=path, base_metrics={"acc@0.5": 0.4}, new_metrics={"acc@0.5": 0.5},
        comparison=comparison,
    )  # fmt: skip
    trained.team.refresh_from_db()
    assert trained.team.active_model_id == (version.id if promoted else trained.version.id)
    if promoted:
        assert trained.team.activations.get().reason == "auto-promote"
    body = client_for(trained.reviewer).get(f"{URL}{run_id}/").json()
    assert body["comparison"]["n"] == n and body["metrics_min_n"] == 20
    listed = client_for(trained.reviewer).get(f"/api/v1/model-versions/{version.id}/").json()
    assert listed["comparison"]["verdict"] == comparison["verdict"]


def test_a_cancelled_run_registers_nothing_and_a_failed_run_keeps_the_active_model(trained, tmp_path) -> None:
    run_id = _running(trained)
    client_for(trained.admin).post(f"{URL}{run_id}/cancel/")
    path = tmp_path / "best.pt"
    path.write_bytes(checkpoint_bytes(seed=97))
    assert training_run_finish(run_id=run_id, checkpoint_path=path, base_metrics={}, new_metrics={}) is None
    assert TrainingRun.objects.get(id=run_id).status == JobStatus.CANCELLED
    assert ModelVersion.objects.count() == 1
    with pytest.raises(Conflict):
        training_run_finish(run_id=run_id, checkpoint_path=path, base_metrics={}, new_metrics={})
    second = _running(trained)
    training_run_fail(run_id=second, error="CUDA out of memory at step 12")
    body = client_for(trained.admin).get(f"{URL}{second}/").json()
    assert body["status"] == "failed" and body["error"] == "CUDA out of memory at step 12" and body["finished_at"]
    trained.team.refresh_from_db()
    assert trained.team.active_model_id == trained.version.id


def test_a_corrupt_result_checkpoint_fails_the_finish_and_stores_nothing(trained, tmp_path, settings) -> None:
    run_id = _running(trained)
    path = tmp_path / "broken.pt"
    path.write_bytes(checkpoint_bytes()[:100])
    with pytest.raises(Exception, match="not a readable PyTorch checkpoint"):
        training_run_finish(run_id=run_id, checkpoint_path=path, base_metrics={}, new_metrics={})
    assert TrainingRun.objects.get(id=run_id).status == JobStatus.RUNNING  # the worker then calls training_run_fail
    assert ModelVersion.objects.count() == 1


def test_a_run_says_what_it_was_trained_on_how_it_compared_and_whether_it_was_promoted(trained, tmp_path) -> None:
    trained.team.auto_promote = True
    trained.team.save(update_fields=["auto_promote"])
    first = _running(trained)
    path = tmp_path / "first.pt"
    path.write_bytes(checkpoint_bytes(seed=96))
    base = {i: 0.9 if i >= 12 else 0.1 for i in range(24)}  # the new version hits 12 labels the base missed
    comparison = paired_comparison(base, dict.fromkeys(range(24), 0.9), set_info("held-out", "held-out", range(24)), 20)
    version = training_run_finish(
        run_id=first, checkpoint_path=path, base_metrics={"acc@0.5": 0.5}, new_metrics={"acc@0.5": 1.0},
        comparison=comparison,
    )  # fmt: skip
    second = start(client_for(trained.admin), trained.team.id, base_version=version.id).json()["id"]
    page = client_for(trained.operator).get(f"{URL}?team={trained.team.id}").json()
    listed = {run["id"]: run for run in page["results"]}
    assert listed[first]["base_label_count"] == 0 and listed[first]["dataset"]["label_count"] == 2
    assert listed[first]["paired_counts"] == {"n": 24, "better": 12, "worse": 0, "same": 12}
    promotion = listed[first]["promotion"]
    assert promotion["promoted"] and promotion["reason"] == "auto-promote" and promotion["activated_by"] is None
    assert promotion["meets_auto_promote_rule"] and promotion["activated_at"]
    # The second run starts from the first one's version: its base was trained on the first run's 2 labels.
    assert listed[second]["base_label_count"] == 2
    assert listed[second]["paired_counts"] is None and listed[second]["promotion"] is None


def test_a_version_never_activated_kept_the_base(trained, tmp_path) -> None:
    run_id = _running(trained)
    path = tmp_path / "kept.pt"
    path.write_bytes(checkpoint_bytes(seed=95))
    comparison = paired_comparison({0: 0.1, 1: 0.9}, {0: 0.9, 1: 0.1}, set_info("held-out", "held-out", [0, 1]), 20)
    training_run_finish(run_id=run_id, checkpoint_path=path, base_metrics={}, new_metrics={}, comparison=comparison)
    body = client_for(trained.reviewer).get(f"{URL}{run_id}/").json()
    assert body["paired_counts"] == {"n": 2, "better": 1, "worse": 1, "same": 0}
    assert body["promotion"] == {
        "promoted": False, "reason": None, "activated_by": None, "activated_at": None, "meets_auto_promote_rule": False,
    }  # fmt: skip
