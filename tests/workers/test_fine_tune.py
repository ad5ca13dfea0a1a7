"""workers.fine_tune: a real worker fine-tunes the demo model on 20 reviewed labels (written from real drone images
and a real COG) and registers a new version with before/after metrics on the same val split; cancel stops a running
fine-tune within seconds; a crash fails the run with its reason. Plus the pure helpers: split, config, torchrun."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from core.models import JobStatus
from registry.models import ModelVersion, TrainingRun
from registry.training_runs import training_run_claim, training_run_create
from smgeo.checkpoint import load_checkpoint
from smgeo.config import config_to_dict, load_config, preset
from smgeo.data.cvogl import read_records
from smgeo.finetune import FineTuneRecipe, recipe_config
from tests.platform.builders import (
    labelled_target,
    make_basemap,
    make_demo_model_version,
    make_drone_image,
    make_model_version,
    make_training_run,
    write_geotiff,
)
from tests.platform.factories import client_for, team_setup
from workers import fine_tune as ft
from workers import torchrun
from workers.cvogl_labels import split_of
from workers.fine_tune_data import SplitError, fine_tune_splits, split_metrics
from workers.local_files import local_path

RUNS = "/api/v1/training-runs/"
IMAGES, LABELS_PER_IMAGE = 5, 4


# ------------------------------------------------------------------------------------------ pure helpers
def test_every_drone_image_lands_in_one_split_as_the_export_splits_it_and_train_and_val_exist() -> None:
    ids = {split: [i for i in range(1, 400) if split_of(i) == split][:6] for split in ("train", "val", "test")}
    train_ids, val_ids, test_ids = ids["train"], ids["val"], ids["test"]
    mixed = {image: 3 for image in [*train_ids[:4], val_ids[0], test_ids[0], test_ids[1]]}
    assert fine_tune_splits(mixed) == {image: split_of(image) for image in mixed}  # the export's split, held-out kept

    only_train = {train_ids[0]: 5, train_ids[1]: 2, train_ids[2]: 2, train_ids[3]: 7, test_ids[0]: 1}
    splits = fine_tune_splits(only_train)
    assert splits[train_ids[1]] == "val" and list(splits.values()).count("val") == 1  # the fewest labels move
    assert splits[test_ids[0]] == "test"  # a held-out image never trains nor picks the checkpoint
    only_val = {val_ids[0]: 1, val_ids[1]: 9, val_ids[2]: 4}
    splits = fine_tune_splits(only_val)
    assert splits[val_ids[1]] == "train" and list(splits.values()).count("train") == 1  # the most labels move
    # with fewer than two drone images besides the held-out ones, those are folded into val: nothing is held out
    folded = fine_tune_splits({test_ids[0]: 4, test_ids[1]: 2, train_ids[0]: 3})
    assert folded == {test_ids[0]: "val", test_ids[1]: "val", train_ids[0]: "train"}
    with pytest.raises(SplitError, match="at least two drone images"):
        fine_tune_splits({7: 20})


def test_a_run_trains_with_smgeos_recipe_and_its_own_budget_batch_and_lr(tmp_path: Path) -> None:
    default = FineTuneRecipe()
    recipe = ft.recipe_of({"epochs": None, "steps": None, "batch_size": 8, "lr": None}, train_pairs=80)
    assert recipe == default  # nothing named: the measured recipe, whatever the label count
    recipe = ft.recipe_of({"epochs": None, "steps": 50, "batch_size": 4, "lr": 0.002}, train_pairs=80)
    assert (recipe.steps, recipe.batch_size, recipe.lr) == (50, 4, 0.002) and recipe.views == default.views
    assert ft.recipe_of({"epochs": 3, "batch_size": 8}, train_pairs=20).steps == 6  # 3 passes of 2 whole batches
    assert ft.recipe_of({"epochs": 3, "batch_size": 8}, train_pairs=5).steps == 3  # a batch of 5 each pass
    assert ft.recipe_of({"epochs": 1, "batch_size": 1}, train_pairs=6, processes=2).steps == 3  # 3 pairs a rank

    base = preset("tiny")
    common = {"data_root": tmp_path / "data", "data_name": "team_1_run_2", "out_dir": tmp_path / "out"}
    config = recipe_config(base, ft.recipe_of({"epochs": 3, "batch_size": 8}, 20), train_pairs=20, **common)
    assert config.model == base.model and config.loss == base.loss  # the architecture is the base's
    assert (config.train.epochs, config.train.max_steps, config.train.batch_size) == (3, 6, 8)
    assert config.train.eval_initial and config.train.select_metric == default.select_metric
    assert config.data.data_root == str(tmp_path / "data") and config.data.data_name == "team_1_run_2"
    assert config.data.num_workers == 0 and config.train.out_dir == str(tmp_path / "out")


def test_the_torchrun_command_trains_the_same_config_on_every_gpu(tmp_path: Path) -> None:
    config = recipe_config(
        preset("tiny"), FineTuneRecipe(steps=10, batch_size=4), data_root=tmp_path, data_name="d",
        out_dir=tmp_path / "out", train_pairs=40, processes=4,
    )  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config_to_dict(config)))
    assert load_config(str(path)) == config  # what `smgeo train --config` reads back
    command = torchrun.torchrun_command(4, path, "/models/base.pt", tmp_path / "out")
    assert command[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4", "-m"]
    assert command[6:8] == ["smgeo", "train"]
    flags = dict(zip(command[8::2], command[9::2], strict=True))
    assert flags == {"--config": str(path), "--init-from": "/models/base.pt", "--out-dir": str(tmp_path / "out")}


def test_metrics_are_followed_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    entries = torchrun.follow_jsonl(path)
    assert next(entries) == []  # not written yet
    path.write_text(json.dumps({"kind": "train", "step": 1}) + "\n" + '{"kind": "tr')
    assert next(entries) == [{"kind": "train", "step": 1}]  # a half-written line waits
    with path.open("a") as handle:
        handle.write('ain", "step": 2}\n')
    assert next(entries) == [{"kind": "train", "step": 2}] and next(entries) == []


class RecordingReporter:
    """The reporter's interface, recording what it is told; asks to stop once a step >= stop_at was reported."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.entries: list[dict] = []
        self.stop_at = stop_at

    def on_progress(self, report: dict) -> None:
        self.entries.append(report)

    def should_stop(self) -> bool:
        return self.stop_at is not None and any(entry["step"] >= self.stop_at for entry in self.entries)


@pytest.mark.slow
def test_torchrun_trains_on_two_processes_and_its_progress_is_followed(tmp_path: Path) -> None:
    """The multi-GPU path, run here on 2 CPU processes (gloo): a very small model on a synthetic dataset."""
    from smgeo.checkpoint import save_checkpoint
    from smgeo.config import merge
    from smgeo.model import build_model
    from smgeo.synth import generate_dataset, synth_options

    options = synth_options(satellite_size=256, query_size=128, targets_per_scene=2, distractors=2)
    generate_dataset(tmp_path / "data", "S", options, {"train": 4, "val": 1, "test": 1}, seed=1, progress=False)
    small = {"reference_size": 128, "query_size": [64, 64], "encoder": {"dim": 32, "num_heads": 2, "num_layers": 1}}
    base = merge(preset("tiny"), {"model": {**small, "head": {"hidden": 16}}})
    save_checkpoint(tmp_path / "base.pt", base, build_model(base.model).state_dict())
    config = recipe_config(
        base, FineTuneRecipe(steps=4, batch_size=2, eval_every_steps=2), data_root=tmp_path / "data", data_name="S",
        out_dir=tmp_path / "out", train_pairs=8, processes=2, loader_workers=1,
    )  # fmt: skip
    reporter = RecordingReporter()
    checkpoint = torchrun.train_with_torchrun(config, str(tmp_path / "base.pt"), reporter, 2, tmp_path)
    assert checkpoint == tmp_path / "out" / "model.pt" and load_checkpoint(checkpoint)["config"] == config
    steps = [(entry["kind"], entry["step"]) for entry in reporter.entries]
    assert steps == [
        ("val", 0),
        ("router", 0),
        ("train", 1),
        ("train", 2),
        ("val", 2),
        ("router", 2),
        ("train", 3),
        ("train", 4),
        ("val", 4),
        ("router", 4),
    ]  # the base first; 8 pairs / (2 x 2) a step; each validation is followed by the routers' statistics
    metrics, ious = split_metrics(checkpoint, config, "val")
    assert metrics["n"] == len(ious) == 2 and all(0 <= iou <= 1 for iou in ious.values())


def test_stopping_a_process_group_ends_every_process_in_it() -> None:
    import subprocess

    process = subprocess.Popen(
        ["bash", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE, start_new_session=True
    )
    child = int(process.stdout.readline())
    torchrun.stop_process_group(process, grace_s=5)
    assert process.returncode is not None
    for _ in range(50):  # the orphan is reaped by init soon after it dies
        stat = Path(f"/proc/{child}/stat")
        if not stat.exists() or stat.read_text().split(")")[-1].split()[0] == "Z":
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"process {child} of the stopped group still runs")
    process.stdout.close()


def test_progress_is_written_at_most_every_second_and_a_cancel_stops(monkeypatch) -> None:  # noqa: ANN001
    from registry import training_runs

    writes: list[dict] = []
    answers = iter([False, False, True])
    monkeypatch.setattr(training_runs, "training_run_progress", lambda **kw: writes.append(kw) or next(answers))
    reporter = ft.RunReporter(run_id=1, epochs=2, log_every_steps=10)
    for step in range(1, 31):
        reporter.on_progress({"kind": "train", "epoch": 0, "step": step, "total_steps": 30, "loss": 1.0, "eta_s": 9})
        assert reporter.should_stop() is False
    assert len(writes) == 1 and writes[0]["step"] == 1  # the rest arrived within the second
    reporter.on_progress({"kind": "val", "epoch": 1, "step": 30, "acc@0.5": 0.5, "mIoU": 0.4})  # written at once
    assert writes[1]["step"] == 30 and [e["step"] for e in writes[1]["history"]] == [10, 20, 30, 30]
    assert (
        writes[1]["message"] == "training: epoch 1/2, step 30/30, loss 1.0000"
        and "val acc@0.5" in writes[1]["log_text"]
    )
    with pytest.raises(ft.FineTuneCancelled):
        reporter.phase("evaluating")  # the third write answers: stop


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture
def labelled_team(tmp_path: Path):  # noqa: ANN201
    """A team whose active model is the demo checkpoint, with 20 reviewed labels (half approved, half corrected) on
    5 drone images of one real COG basemap: white markers where the objects are, dots where the clicks are."""
    setup = team_setup()
    base = make_demo_model_version()
    setup.team.active_model, setup.base = base, base
    setup.team.save(update_fields=["active_model"])
    markers = [(150 + 250 * j, 150 + 220 * i) for i in range(IMAGES) for j in range(LABELS_PER_IMAGE)]
    cog = write_geotiff(tmp_path / "basemap.tif", width=1200, height=1300, markers=markers, marker_half=10)
    setup.basemap = make_basemap(setup.mission, width=1200, height=1300, cog_path=cog)
    for i in range(IMAGES):
        clicks = [(30 + 45 * j, 40 + 15 * j) for j in range(LABELS_PER_IMAGE)]
        image = make_drone_image(setup.mission, width=200, height=150, dots=clicks)
        for j, click in enumerate(clicks):
            x, y = markers[i * LABELS_PER_IMAGE + j]
            box = [x - 14, y - 12, x + 14, y + 12]
            review = {"decision": "approve", "box": box}
            if j % 2:
                review = {"decision": "correct", "box": [x + 30, y - 40, x + 60, y - 10], "final_box": box}
            labelled_target(setup.mission, image, setup.basemap, base, setup.reviewer, click=click, **review)
    return setup


def wait_for(run_id: int, timeout_s: float = 240.0, until=lambda run: run.is_finished) -> TrainingRun:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = TrainingRun.objects.get(id=run_id)
        if until(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"training run {run_id} still {run.status} ({run.message}) after {timeout_s}s")


# ------------------------------------------------------------------------------------------ real worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_fine_tunes_and_registers_a_version_with_before_after_metrics(labelled_team, celery_worker):  # noqa: ANN001
    created = client_for(labelled_team.admin).post(RUNS, {"team": labelled_team.team.id, "epochs": 1, "batch_size": 4})
    assert created.status_code == 201, created.json()
    started = time.monotonic()
    run = wait_for(created.json()["id"])
    print(f"\nfine-tune of {run.id}: {time.monotonic() - started:.1f}s end to end ({run.message})")
    assert run.status == JobStatus.SUCCEEDED, run.error + celery_worker.log()[-3000:]

    version = ModelVersion.objects.get(training_run=run)
    base = labelled_team.base
    assert version.team_id == labelled_team.team.id and version.parent_id == base.id and version.id != base.id
    assert version.metrics == run.new_metrics and version.sha256 != base.sha256
    for metrics in (run.base_metrics, run.new_metrics):
        assert {"acc@0.5", "acc@0.25", "mIoU", "center_px", "n", "set"} <= metrics.keys()
    assert (run.epoch, run.progress) == (1, 1.0) and run.step == run.total_steps > 0 and run.loss is not None
    kinds = [entry["kind"] for entry in run.history]
    assert kinds[-1] == "val" and "train" in kinds and run.history[-2]["step"] == run.total_steps
    pattern = rf"(\d+) train / (\d+) val / (\d+) held-out pairs from {IMAGES} drone images"
    train_pairs, val_pairs, held_out = (int(v) for v in re.search(pattern, run.log).groups())
    assert train_pairs + val_pairs + held_out == IMAGES * LABELS_PER_IMAGE and train_pairs and val_pairs
    assert run.total_steps == train_pairs // 4  # one epoch of whole batches of 4
    # both versions measured on the same labels, named: the held-out ones when there are any, else val
    assert run.base_metrics["set"] == run.new_metrics["set"]
    kind, n = ("held-out", held_out) if held_out else ("val", val_pairs)
    assert run.base_metrics["set"]["kind"] == kind and run.base_metrics["n"] == run.new_metrics["n"] == n
    assert f"base acc@0.5 {run.base_metrics['acc@0.5']:.3f} on the" in run.log
    comparison = run.comparison
    assert comparison["n"] == held_out and comparison["set"]["kind"] == "held-out" and comparison["weak"]  # < 20
    assert len(comparison["better"]) + len(comparison["worse"]) <= held_out and comparison["verdict"]

    with local_path(version.checkpoint) as path:
        config = load_checkpoint(path)["config"]
    assert config.model == load_checkpoint(torchrun.ROOT / "checkpoints/smgeo-tiny-synthetic.pt")["config"].model
    assert (config.train.epochs, config.train.batch_size) == (1, 4)
    labelled_team.team.refresh_from_db()
    assert labelled_team.team.active_model_id == base.id  # promotion is an admin's call (auto_promote is off)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_running_fine_tune_within_seconds(labelled_team, celery_worker) -> None:  # noqa: ANN001
    admin = client_for(labelled_team.admin)
    run_id = admin.post(RUNS, {"team": labelled_team.team.id, "epochs": 50, "batch_size": 1}).json()["id"]
    wait_for(run_id, until=lambda run: run.step >= 2 or run.is_finished)  # training
    asked = time.monotonic()
    assert admin.post(f"{RUNS}{run_id}/cancel/").status_code == 200
    run = wait_for(run_id, timeout_s=30)
    waited = time.monotonic() - asked
    print(f"\ncancel of {run_id} took effect after {waited:.1f}s (at step {run.step}/{run.total_steps})")
    assert run.status == JobStatus.CANCELLED and waited < 10, (run.status, waited, run.error)
    assert run.step < run.total_steps and not ModelVersion.objects.filter(training_run=run).exists()
    labelled_team.team.refresh_from_db()
    assert labelled_team.team.active_model_id == labelled_team.base.id


@pytest.mark.django_db(transaction=True)
def test_a_corrupt_base_checkpoint_fails_the_run_with_the_reason(labelled_team, celery_worker) -> None:  # noqa: ANN001
    broken = make_model_version(labelled_team.team, "field-v7")
    with broken.checkpoint.open("wb") as handle:
        handle.write(b"this is not a checkpoint")
    versions = ModelVersion.objects.count()
    run = training_run_create(team=labelled_team.team, by=labelled_team.admin, epochs=1, base_version=broken)
    run = wait_for(run.id, timeout_s=60)
    assert run.status == JobStatus.FAILED and run.finished_at, run.message
    assert "the base version 'field-v7' could not be loaded" in run.error
    assert "the stored checkpoint does not match its checksum" in run.error  # fetched through the checked cache
    assert ModelVersion.objects.count() == versions
    labelled_team.team.refresh_from_db()
    assert labelled_team.team.active_model_id == labelled_team.base.id


# ------------------------------------------------------------------------------------------ in this process
def scripted_scores(hits: list[bool]) -> tuple[dict, dict[int, float]]:
    """What an evaluation on held-out labels returns: metrics with n, and an IoU per label (0.9 hit, 0.1 miss)."""
    ious = {1000 + i: 0.9 if hit else 0.1 for i, hit in enumerate(hits)}
    return {"acc@0.5": sum(hits) / len(hits), "n": len(hits)}, ious


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("base_hits", "new_hits", "promoted"),
    [
        ([True] * 6 + [False] * 18, [True] * 18 + [False] * 6, True),  # 24 labels, 12 better, none worse
        ([False] * 4, [True] * 4, False),  # all better, but 4 labels are too few to tell
        ([True] * 12 + [False] * 12, [True] * 10 + [False] * 14, False),  # worse
        ([True] * 10 + [False] * 14, [False] * 3 + [True] * 10 + [False] * 11, False),  # +0 net: 3 better, 3 worse
    ],
)
def test_auto_promote_needs_enough_held_out_labels_and_a_gain_beyond_noise(
    labelled_team, monkeypatch, base_hits: list[bool], new_hits: list[bool], promoted: bool
) -> None:  # noqa: ANN001
    """The rule is the platform's (registry.comparison, tests/platform/test_comparison.py); here: the worker hands it
    the base's and the new version's label-by-label results on the held-out set (scripted, so the outcome is
    certain) and the team's version follows."""
    labelled_team.team.auto_promote = True
    labelled_team.team.save(update_fields=["auto_promote"])
    scores = {"base": scripted_scores(base_hits), "new": scripted_scores(new_hits)}

    def evaluate(checkpoint, config, split):  # noqa: ANN001, ANN202
        assert split == "test"  # with held-out labels, both versions are measured on them only
        return scores["new" if "/out/" in str(checkpoint) else "base"]  # the fine-tune writes to its out dir

    def one_image_held_out(labels_per_image):  # noqa: ANN001, ANN202
        first, second, *rest = sorted(labels_per_image)
        return {first: "test", second: "val", **dict.fromkeys(rest, "train")}

    monkeypatch.setattr(ft, "split_metrics", evaluate)
    monkeypatch.setattr(ft, "fine_tune_splits", one_image_held_out)
    run = make_training_run(labelled_team.team, labelled_team.base, labelled_team.admin, epochs=1, batch_size=8)
    assert ft.fine_tune.apply(args=[run.id]).get()["status"] == "succeeded"
    run.refresh_from_db()
    version = ModelVersion.objects.get(training_run=run)
    assert run.comparison["n"] == len(base_hits) and run.new_metrics["n"] == len(base_hits)
    assert run.new_metrics["set"]["kind"] == "held-out" and version.metrics == run.new_metrics
    labelled_team.team.refresh_from_db()
    assert labelled_team.team.active_model_id == (version.id if promoted else labelled_team.base.id)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_fine_tune_replays_base_data_and_measures_what_it_forgot_of_it(labelled_team, settings, tmp_path) -> None:  # noqa: ANN001
    from smgeo.synth import generate_dataset, synth_options

    options = synth_options(satellite_size=256, query_size=128, targets_per_scene=2, distractors=2)
    generate_dataset(tmp_path / "base", "BaseData", options, {"train": 4, "val": 3, "test": 0}, seed=4, progress=False)
    base_train = len(read_records(tmp_path / "base", "BaseData", "train"))
    settings.FINE_TUNE_BASE_DATA, settings.FINE_TUNE_BASE_SLICE = f"{tmp_path / 'base'}:BaseData", 5
    run = make_training_run(
        labelled_team.team, labelled_team.base, labelled_team.admin, epochs=1, batch_size=8, replay=0.25
    )
    assert ft.fine_tune.apply(args=[run.id]).get()["status"] == "succeeded"
    run.refresh_from_db()
    pattern = r"(\d+) train / \d+ val / \d+ held-out pairs from \d+ drone images; (\d+) of the train pairs replayed"
    train, replayed = (int(v) for v in re.search(pattern, run.log).groups())
    assert replayed == min(base_train, round((train - replayed) / 3)) > 0  # a quarter of the train split
    forgetting = run.forgetting
    assert forgetting["measured"] and forgetting["n"] == 5 == forgetting["set"]["n"]  # the first 5 val pairs
    assert forgetting["set"]["name"] == "BaseData val, its first 5 pairs"
    before, after = forgetting["base"]["acc@0.5"], forgetting["new"]["acc@0.5"]
    assert 0 <= before <= 1 and 0 <= after <= 1 and forgetting["lost"] == pytest.approx(before - after)
    assert "on the base model's own data acc@0.5" in run.log

    settings.FINE_TUNE_BASE_DATA = str(tmp_path / "nowhere:BaseData")
    assert ft.forgetting_check("unused", "unused", None)["summary"].startswith("not measured: this worker has no copy")
    run = make_training_run(
        labelled_team.team, labelled_team.base, labelled_team.admin, epochs=1, batch_size=8, replay=0.25
    )
    assert ft.fine_tune.apply(args=[run.id]).get()["status"] == "failed"
    run.refresh_from_db()
    assert "replay needs a copy of the base model's data on the worker" in run.error


@pytest.mark.django_db(transaction=True)
def test_labels_from_one_drone_image_or_a_missing_cog_fail_with_the_reason(labelled_team) -> None:  # noqa: ANN001
    from localization.models import Target

    team, base, admin = labelled_team.team, labelled_team.base, labelled_team.admin
    first = Target.objects.order_by("id").first().drone_image_id
    Target.objects.exclude(drone_image_id=first).update(status="rejected")
    run = make_training_run(team, base, admin)
    assert ft.fine_tune.apply(args=[run.id]).get()["status"] == "failed"
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and "at least two drone images" in run.error

    Target.objects.update(status="approved")
    labelled_team.basemap.cog_file.delete(save=True)
    run = make_training_run(team, base, admin)
    assert ft.fine_tune.apply(args=[run.id]).get()["status"] == "failed"
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and labelled_team.basemap.name in run.error and "no COG" in run.error
    assert ModelVersion.objects.filter(team=team).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_was_lost_fails_and_a_missing_run_is_skipped(labelled_team) -> None:  # noqa: ANN001
    run = make_training_run(labelled_team.team, labelled_team.base, labelled_team.admin)
    assert training_run_claim(run_id=run.id, task_id="lost-task") is not None  # a worker took it, then died
    assert ft.fine_tune.apply(args=[run.id], task_id="lost-task").get()["status"] == "failed"
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and run.error == ft.WORKER_LOST
    assert ft.fine_tune.apply(args=[987654]).get()["status"] == "skipped"
