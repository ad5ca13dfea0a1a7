"""workers.fine_tune (gpu queue): fine-tune a team's model on its frozen reviewed labels.

The run row (registry.TrainingRun) already holds the frozen snapshot: the label review ids and their hash. The task
1. claims the run and fetches the base version's checkpoint once, through the hash-checked model cache
   (workers.predictors.local_checkpoint: it may live on S3);
2. puts every drone image in train, val or the team's held-out set (the export's split; workers.fine_tune_data) and
   writes the labels once, in those splits, in CVOGL layout with the export's writer (workers.cvogl_labels), the
   queries at twice the model's query size so that training crops still downsample;
3. evaluates the base, fine-tunes from it with smgeo's recipe (smgeo.finetune: in this process, or `torchrun` across
   the GPUs it may use: workers.torchrun; the base is the first candidate on val and stays when nothing beats it),
   evaluates the kept model, and compares both label by label on the held-out set;
4. registers the result through training_run_finish (lineage, metrics with n and their set, the comparison;
   auto-promote when the team allows it and the gain is beyond noise on enough labels).
Progress (epoch, step, loss, ETA) is written at most every PROGRESS_EVERY_S; a cancel is seen at the next write or
check (at most PROGRESS_EVERY_S apart, between training steps and written labels). Every failure closes the run as
failed with its reason; the team's active model is never touched here.

Celery imports this module before Django is set up: the platform is imported when a task runs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from config.celery_app import app
from smgeo.checkpoint import CheckpointError, load_checkpoint
from smgeo.config import SMGeoConfig, config_to_dict
from smgeo.data.replay import Replay
from smgeo.finetune import KEPT_BASE, FineTuneRecipe, kept_in, recipe_config, run_finetune, steps_per_epoch
from smgeo.schedule import effective_lr
from workers.cvogl_labels import ExportError, query_size_of
from workers.fine_tune_data import (
    HELD_OUT,
    SplitError,
    base_data,
    fine_tune_splits,
    forgetting_check,
    split_metrics,
    write_fine_tune_dataset,
)
from workers.predictors import ModelUnavailable, local_checkpoint
from workers.search import reference_extent_m
from workers.torchrun import TorchrunError, gpus_to_use, train_with_torchrun

if TYPE_CHECKING:
    from localization.models import Review
    from registry.models import ModelVersion, TrainingRun

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0
SET_NAMES = {HELD_OUT: "held-out labels (never trained on)", "val": "fine-tune val labels (picked the checkpoint)"}
KEPT_BASE_NOTE = " (the base's weights were kept: no fine-tuned step beat them on the fine-tune val labels)"
QUERY_SCALE = 2  # labels' queries are written at this multiple of the model's query size
# Read with getattr: the settings may not name them (then these defaults hold).
SOFT_TIME_LIMIT_S = getattr(settings, "FINE_TUNE_SOFT_TIME_LIMIT_S", 24 * 3600)
CLEANUP_S = 300  # after the soft limit: stop torchrun, record the failure
WORKER_LOST = (
    "the worker running this fine-tune stopped before it finished (killed, out of memory, or restarted); "
    "nothing was registered: start a new run"
)


class FineTuneError(Exception):
    """A fine-tune that cannot go on, with a reason the user can act on."""


class FineTuneCancelled(Exception):
    """Cancel was requested (or the run is gone) while the fine-tune ran."""


# ------------------------------------------------------------------------------------------- config
def recipe_of(params: Mapping[str, Any], train_pairs: int, processes: int = 1) -> FineTuneRecipe:
    """smgeo's fine-tune recipe with what the run names: batch size, lr (None: the recipe's) and the budget as
    steps, or as epochs (that many passes over the `train_pairs`, in whole batches per process)."""
    recipe = FineTuneRecipe()
    batch_size = int(params.get("batch_size") or recipe.batch_size)
    steps = params.get("steps")
    if not steps and params.get("epochs"):
        per_process = math.ceil(train_pairs / processes)
        steps = int(params["epochs"]) * max(1, steps_per_epoch(per_process, min(batch_size, per_process)))
    return dataclasses.replace(
        recipe, batch_size=batch_size, lr=float(params.get("lr") or recipe.lr), steps=int(steps or recipe.steps)
    )


# ------------------------------------------------------------------------------------------- progress
class RunReporter:
    """Progress of one run: the hooks smgeo's trainer calls (on_progress after every step and evaluation,
    should_stop before every step) and the task's phases. Writes at most every PROGRESS_EVERY_S (a phase or a
    val entry at once); each write also tells whether the worker must stop."""

    def __init__(self, run_id: int, epochs: int = 0, log_every_steps: int = 1) -> None:  # epochs: once known
        self.run_id, self.epochs, self.log_every_steps = run_id, epochs, log_every_steps
        self.fields: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []
        self.log_lines: list[str] = []
        self.last_write, self.stopping = -math.inf, False

    def on_progress(self, report: dict[str, Any]) -> None:
        """A trainer report: a train step (kept in the history as often as the trainer logs it), a val entry, or
        another kind (router statistics) that the run's page does not show."""
        if report.get("kind") == "val":
            self.history.append(report)
            self.note(f"epoch {report['epoch']}: val acc@0.5 {report['acc@0.5']:.3f}, mIoU {report['mIoU']:.3f}")
            self.write()
        elif report.get("kind") == "train":
            self._on_step(report)

    def _on_step(self, report: dict[str, Any]) -> None:
        step, total, loss = report["step"], report["total_steps"], report["loss"]
        if step % self.log_every_steps == 0 or step == total:
            self.history.append(report)
        epoch = report["epoch"] + 1  # the trainer counts epochs from 0; the run shows the one in progress from 1
        self.fields = {"epoch": epoch, "step": step, "total_steps": total, "loss": loss, "eta_s": report.get("eta_s")}
        self.fields["message"] = f"training: epoch {epoch}/{self.epochs}, step {step}/{total}, loss {loss:.4f}"
        self.write(throttled=True)

    def should_stop(self) -> bool:
        self.write(throttled=True)
        return self.stopping

    def phase(self, message: str) -> None:
        """A new phase: its message is written at once; FineTuneCancelled when the worker must stop."""
        self.note(message)
        self.fields["message"] = message
        self.write()
        if self.stopping:
            raise FineTuneCancelled

    def note(self, line: str) -> None:
        self.log_lines.append(f"{time.strftime('%H:%M:%S')} {line}\n")

    def dataset_progress(self, done: int, total: int) -> None:
        self.fields["message"] = f"writing the dataset: {done}/{total} labels"
        self.write(throttled=done not in (0, total))
        if self.stopping:
            raise FineTuneCancelled

    def write(self, throttled: bool = False) -> None:
        from registry.training_runs import training_run_progress

        now = time.monotonic()
        if throttled and now - self.last_write < PROGRESS_EVERY_S:
            return
        self.last_write = now
        stop = training_run_progress(
            run_id=self.run_id, history=self.history, log_text="".join(self.log_lines), **self.fields
        )
        self.stopping = self.stopping or stop
        self.fields, self.history, self.log_lines = {}, [], []


# ------------------------------------------------------------------------------------------- training
def train_in_process(config: SMGeoConfig, base_path: str, reporter: RunReporter) -> Path | None:
    """Fine-tune in this process (one GPU, or the CPU); the inference checkpoint kept on val (the base's weights when
    no step beat them), or None when cancelled."""
    result = run_finetune(config, base_path, hooks=reporter)
    if result.status == "cancelled":
        return None
    if result.model_checkpoint is None:
        raise FineTuneError("training ended without a checkpoint (no evaluation on val ran)")
    return result.model_checkpoint


# ------------------------------------------------------------------------------------------- the task
@app.task(
    name="workers.fine_tune",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_TIME_LIMIT_S,
    time_limit=SOFT_TIME_LIMIT_S + CLEANUP_S,
)
def fine_tune(self: Any, run_id: int) -> dict[str, Any]:
    """Run one training run: claim it, fine-tune, register the result; a missing or taken run is skipped.

    acks_late + reject_on_worker_lost: a worker killed mid-run gives the message back. Its redelivery (same task
    id) fails the run with WORKER_LOST instead of starting over, since a crash that kills the worker (out of memory)
    would come back on every retry; a copy the broker sent again while the first still runs is left alone."""
    from registry import training_runs

    task_id = self.request.id or ""
    if _redelivered(run_id, task_id):
        if _running_elsewhere(task_id, self.request.hostname or ""):
            return {"run": run_id, "status": "skipped"}
        training_runs.training_run_fail(run_id=run_id, error=WORKER_LOST)
        return {"run": run_id, "status": "failed"}
    run = training_runs.training_run_claim(run_id=run_id, task_id=task_id)
    if run is None:
        return {"run": run_id, "status": "skipped"}
    try:
        version = _fine_tune(run)
    except FineTuneCancelled:
        training_runs.training_run_mark_cancelled(run_id=run_id)
        return {"run": run_id, "status": "cancelled"}
    except Exception as exc:  # every failure is recorded on the run, with its reason
        reason, expected = failure_reason(exc), isinstance(exc, FineTuneError | ExportError | TorchrunError)
        log.log(
            logging.WARNING if expected else logging.ERROR, "run %s failed: %s", run_id, reason, exc_info=not expected
        )
        training_runs.training_run_fail(run_id=run_id, error=reason)
        return {"run": run_id, "status": "failed"}
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the worker goes on serving localizations on this GPU
    if version is None:
        return {"run": run_id, "status": "cancelled"}
    return {"run": run_id, "status": "succeeded", "version": version.id}


def _fine_tune(run: TrainingRun) -> ModelVersion | None:
    """Steps 1-4 of the module docstring for a claimed run; the registered version (None: cancelled meanwhile)."""
    from registry.training_runs import training_run_finish

    reporter = RunReporter(run.id)
    reporter.phase(f"loading the base version {run.base_version.name}")
    labels = _frozen_labels(run)
    try:
        splits = fine_tune_splits(Counter(label.target.drone_image_id for label in labels))
    except SplitError as exc:
        raise FineTuneError(str(exc)) from exc
    base_path = _fetch_base(run.base_version)
    with tempfile.TemporaryDirectory(prefix="smgeo-ft-") as tmp:
        base = _load_base(run.base_version, base_path)
        config, processes, counts = _write_dataset(run, labels, splits, base, Path(tmp), reporter)
        measured = HELD_OUT if counts[HELD_OUT] else "val"  # the held-out labels; val only when none are held out
        reporter.phase(f"evaluating the base version on the {SET_NAMES[measured]}")
        base_scores = split_metrics(base_path, config, measured)
        reporter.phase(_training_message(config, processes, base_scores[0], SET_NAMES[measured]))
        if processes > 1:
            checkpoint = train_with_torchrun(config, base_path, reporter, processes, Path(tmp))
        else:
            checkpoint = train_in_process(config, base_path, reporter)
        if checkpoint is None:
            raise FineTuneCancelled
        kept = KEPT_BASE_NOTE if kept_in(checkpoint) == KEPT_BASE else ""
        reporter.phase(f"evaluating the fine-tuned model on the {SET_NAMES[measured]}{kept}")
        result = compare(measured, base_scores, split_metrics(checkpoint, config, measured))
        reporter.phase("measuring what the fine-tune forgot of the base model's own data")
        forgetting = forgetting_check(base_path, checkpoint, config)
        reporter.phase(f"registering: {result['comparison']['verdict']}; {forgetting['summary']}{kept}")
        return training_run_finish(run_id=run.id, checkpoint_path=checkpoint, forgetting=forgetting, **result)


def compare(split: str, base: tuple[dict, dict], new: tuple[dict, dict]) -> dict[str, Any]:
    """The metrics to store, each with `n` and the set it was measured on (the held-out labels, or val when none
    are held out), and the paired comparison on the held-out labels. base/new: (metrics, {label id: IoU})."""
    from registry.comparison import paired_comparison, set_info

    measured_on = set_info("held-out" if split == HELD_OUT else "val", SET_NAMES[split], base[1])
    held_out = (base[1], new[1]) if split == HELD_OUT else ({}, {})
    min_n = getattr(settings, "METRICS_MIN_N", 20)
    return {
        "base_metrics": {**base[0], "set": measured_on},
        "new_metrics": {**new[0], "set": measured_on},
        "comparison": paired_comparison(*held_out, set_info("held-out", SET_NAMES[HELD_OUT], held_out[0]), min_n),
    }


def replay_of(run: TrainingRun) -> Replay | None:
    """The run's replay of base data (None without); FineTuneError when it asks for replay and this worker has no
    copy of the base model's data."""
    share = float(run.params.get("replay") or 0.0)
    if share <= 0:
        return None
    data = base_data()
    if data is None:
        raise FineTuneError(
            "replay needs a copy of the base model's data on the worker (FINE_TUNE_BASE_DATA); start the run "
            "without replay, or give the worker the data"
        )
    return Replay(data[0], data[1], share, seed=run.id)


def _frozen_labels(run: TrainingRun) -> list[Review]:
    """The run's frozen labels; FineTuneError when some were deleted since (the snapshot no longer holds)."""
    from registry.selectors import labels_by_review_ids

    labels, frozen = list(labels_by_review_ids(run.dataset_label_ids)), len(run.dataset_label_ids)
    if len(labels) != frozen:
        raise FineTuneError(
            f"{frozen - len(labels)} of the {frozen} labels frozen for this run were deleted since it was started; "
            "start a new run"
        )
    return labels


def _write_dataset(
    run: TrainingRun,
    labels: list[Review],
    splits: Mapping[int, str],
    base: SMGeoConfig,
    work: Path,
    reporter: RunReporter,
) -> tuple[SMGeoConfig, int, dict[str, int]]:
    """Write the dataset under work/data; the fine-tune config for it, the number of GPUs to train on, and the number
    of pairs per split."""
    name = f"team_{run.team_id}_run_{run.id}"
    reporter.phase(f"writing the dataset: {len(labels)} labels")
    height, width = query_size_of(config_to_dict(base))
    query_size = (QUERY_SCALE * height, QUERY_SCALE * width)
    replay = replay_of(run)
    extent_m = reference_extent_m(run.base_version.config, settings.LOCALIZE_REFERENCE_EXTENT_M)
    counts = write_fine_tune_dataset(
        labels, splits, work / "data", name, query_size, reporter.dataset_progress, replay, extent_m
    )  # fmt: skip
    reporter.note(
        f"dataset: {counts['train']} train / {counts['val']} val / {counts[HELD_OUT]} held-out pairs "
        f"from {len(splits)} drone images"
        + (f"; {counts['replay']} of the train pairs replayed from {replay.name}" if replay else "")
    )
    gpus = gpus_to_use()
    processes = max(gpus, 1)
    config = recipe_config(
        base, recipe_of(run.params, counts["train"], processes), data_root=work / "data", data_name=name,
        out_dir=work / "out", train_pairs=counts["train"], processes=processes,
        loader_workers=base.data.num_workers if gpus > 1 else 0,
    )  # fmt: skip
    reporter.log_every_steps, reporter.epochs = config.train.log_every_steps, config.train.epochs
    return config, gpus, counts


def _fetch_base(version: ModelVersion) -> str:
    """A local, hash-checked copy of the base version's checkpoint (the model cache the predictors use)."""
    try:
        return str(local_checkpoint(version))
    except ModelUnavailable as exc:
        raise FineTuneError(f"the base version {version.name!r} could not be loaded: {exc}") from exc


def _load_base(version: ModelVersion, path: str) -> SMGeoConfig:
    """The base checkpoint's config; FineTuneError naming the version when the file is not a usable checkpoint."""
    try:
        return load_checkpoint(path)["config"]
    except (OSError, CheckpointError) as exc:
        raise FineTuneError(f"the base version {version.name!r} could not be loaded: {exc}") from exc


def _training_message(config: SMGeoConfig, processes: int, base_metrics: Mapping[str, float], on: str) -> str:
    where = f"{processes} GPUs (torchrun)" if processes > 1 else "1 GPU" if processes else "the CPU"
    train = config.train
    lr = effective_lr(train.lr, train.batch_size * max(1, processes))  # the rate the run really uses
    return (f"training on {where}: base acc@0.5 {base_metrics['acc@0.5']:.3f} on the {on} (n = {base_metrics['n']}); "
            f"{train.max_steps} steps ({train.epochs} epochs), batch size {train.batch_size}, lr {lr:g}; "
            f"the base is the first candidate on val {train.select_metric}")  # fmt: skip


def failure_reason(exc: BaseException) -> str:
    """The run's error text: ours as they are, the others named."""
    if isinstance(exc, FineTuneError | ExportError | TorchrunError):
        return str(exc)
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"the fine-tune ran longer than its time limit ({SOFT_TIME_LIMIT_S / 3600:g} h) and was stopped"
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return "the GPU ran out of memory: start a new run with a smaller batch_size"
    return f"the fine-tune failed unexpectedly ({type(exc).__name__}: {exc})"


def _redelivered(run_id: int, task_id: str) -> bool:
    """Whether this task already claimed the run once: the message came back after its worker was lost."""
    from core.models import JobStatus
    from registry.models import TrainingRun

    return bool(task_id) and TrainingRun.objects.filter(id=run_id, status=JobStatus.RUNNING, task_id=task_id).exists()


def _running_elsewhere(task_id: str, hostname: str) -> bool:
    """Whether another worker process still runs this task id (the broker gave the message out again while the
    first worker still held it, e.g. past Redis's visibility timeout)."""
    active = app.control.inspect(timeout=1.0).active() or {}
    me = (hostname, os.getpid())
    return any(
        task.get("id") == task_id and (task.get("hostname"), task.get("worker_pid")) != me
        for tasks in active.values()
        for task in tasks
    )
