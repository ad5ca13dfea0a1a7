import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from smgeo.checkpoint import load_checkpoint
from smgeo.training import train
from tests.smgeo.conftest import small_config

ROOT = Path(__file__).resolve().parents[2]


class StopAfter:
    """Training hooks that record progress and ask to stop once `steps` steps are done."""

    def __init__(self, steps: int | None) -> None:
        self.steps, self.reports = steps, []

    def on_progress(self, progress: dict) -> None:
        self.reports.append(progress)

    def should_stop(self) -> bool:
        done = [r["step"] for r in self.reports if r["kind"] == "train"]
        return self.steps is not None and bool(done) and done[-1] >= self.steps


def test_loss_falls_when_fitting_a_tiny_synthetic_set(tiny_dataset, tmp_path) -> None:
    config = small_config(
        tiny_dataset,
        tmp_path,
        "train.epochs=40",
        "train.lr=2e-3",
        "train.warmup_epochs=1",
        "data.augment=false",
        "train.eval_every_epochs=40",
        "loss.moe_entropy_warmup_steps=0",
    )
    hooks = StopAfter(None)
    result = train(config, hooks=hooks)
    losses = [r["loss"] for r in hooks.reports if r["kind"] == "train"]
    assert result.status == "finished" and len(losses) == 120
    assert sum(losses[-10:]) / 10 < 0.6 * sum(losses[:10]) / 10


def test_progress_reports_and_cancel_hook(tiny_dataset, tmp_path) -> None:
    hooks = StopAfter(2)
    result = train(small_config(tiny_dataset, tmp_path, "train.epochs=5"), hooks=hooks)
    assert result.status == "cancelled" and result.state.step == 2
    report = hooks.reports[-1]
    assert {"epoch", "step", "total_steps", "loss", "lr", "eta_s"} <= report.keys()
    assert report["total_steps"] == 15
    log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [1, 2]
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 2


def test_resume_reproduces_the_next_step_exactly(tiny_dataset, tmp_path) -> None:
    overrides = ("train.epochs=2", "train.max_steps=3", "train.eval_every_epochs=5")
    straight = train(small_config(tiny_dataset, tmp_path / "straight", *overrides))
    interrupted = train(small_config(tiny_dataset, tmp_path / "resumed", *overrides), hooks=StopAfter(2))
    assert straight.state.step == 3 and interrupted.status == "cancelled"
    resumed = train(
        small_config(tiny_dataset, tmp_path / "resumed", *overrides), resume=tmp_path / "resumed" / "last.pt"
    )
    assert resumed.state.step == 3
    a = load_checkpoint(tmp_path / "straight" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "resumed" / "last.pt")["model"]
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_model_selection_keeps_the_best_val_acc_and_exports_an_inference_checkpoint(tiny_dataset, tmp_path) -> None:
    result = train(small_config(tiny_dataset, tmp_path, "train.epochs=2"))
    best = load_checkpoint(result.best_checkpoint)
    exported = load_checkpoint(result.model_checkpoint)
    history = result.state.history
    assert len(history) == 2 and best["metrics"]["acc@0.5"] == max(h["acc@0.5"] for h in history)
    assert "optimizer" in best and "optimizer" not in exported
    assert exported["config"] == best["config"] and exported["config"].model.reference_size == 128
    assert result.model_checkpoint.stat().st_size < best_size(result.best_checkpoint)


def best_size(path: Path) -> int:
    return path.stat().st_size


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_process_ddp_training_through_torchrun(tiny_dataset, tmp_path) -> None:
    args = [
        "--config",
        "tiny",
        "--data-root",
        str(tiny_dataset),
        "--data-name",
        "SynthTiny",
        "--out-dir",
        str(tmp_path),
        "--epochs",
        "1",
        "--device",
        "cpu",
    ]
    for override in (
        "data.num_workers=0",
        "model.reference_size=128",
        "model.query_size=[64, 64]",
        "model.encoder.dim=32",
        "model.encoder.num_heads=2",
        "train.batch_size=1",
    ):
        args += ["--set", override]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        "-m",
        "smgeo",
        "train",
        *args,
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train_steps = [entry for entry in log if entry["kind"] == "train"]
    assert train_steps[-1]["step"] == 3  # 6 pairs, 2 processes x batch 1
    assert [entry["n"] for entry in log if entry["kind"] == "val"] == [2]  # every val pair counted once
    assert (tmp_path / "model.pt").exists()
