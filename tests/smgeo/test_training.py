import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from smgeo.checkpoint import load_checkpoint, save_checkpoint
from smgeo.cli import main
from smgeo.model import build_model
from smgeo.resume import ResumeError
from smgeo.training import Trainer, train
from tests.smgeo.conftest import DATA_NAME, SMALL_OVERRIDES, small_config

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


def test_resume_refuses_a_checkpoint_of_another_config(tiny_dataset, tmp_path, capsys) -> None:
    train(small_config(tiny_dataset, tmp_path / "first", "train.epochs=2", "train.max_steps=1"))
    checkpoint = tmp_path / "first" / "last.pt"
    with pytest.raises(ResumeError, match=r"model\.moe\.top_k: checkpoint 2, this run 1"):
        train(small_config(tiny_dataset, tmp_path / "other", "train.epochs=2", "model.moe.top_k=1"), resume=checkpoint)
    # Where files go and when to stop may change: the run goes on through epoch 2 (3 more steps).
    resumed = train(small_config(tiny_dataset, tmp_path / "moved", "train.epochs=2"), resume=checkpoint)
    assert resumed.status == "finished" and resumed.state.step == 4
    # The command line says what differs and exits with 2.
    sets = [item for override in SMALL_CLI for item in ("--set", override)]
    args = ["train", "--data-root", str(tiny_dataset), "--data-name", DATA_NAME, "--out-dir", str(tmp_path / "cli")]
    assert main([*args, *sets, "--set", "model.moe.top_k=1", "--device", "cpu", "--resume", str(checkpoint)]) == 2
    assert "model.moe.top_k: checkpoint 2, this run 1" in capsys.readouterr().err


SMALL_CLI = (*SMALL_OVERRIDES, "train.epochs=2")  # small_config's overrides, for the command line


def test_the_learning_rate_scaled_to_the_global_batch_is_used_and_recorded(tiny_dataset, tmp_path) -> None:
    config = small_config(tiny_dataset, tmp_path, "train.epochs=1", "train.lr=4e-4", "train.warmup_epochs=1")
    result = train(config)  # batch 2 in one process: 3 steps, warm-up over all 3
    expected = 4e-4 * 2 / 8
    checkpoint = load_checkpoint(tmp_path / "last.pt")
    assert checkpoint["effective_lr"] == pytest.approx(expected) and checkpoint["global_batch"] == 2
    assert load_checkpoint(result.best_checkpoint)["effective_lr"] == pytest.approx(expected)
    assert result.effective_lr == pytest.approx(expected)
    log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert log[0]["effective_lr"] == pytest.approx(expected)
    assert max(entry["lr"] for entry in log if entry["kind"] == "train") == pytest.approx(expected)  # the peak


def test_model_selection_runs_in_the_served_precision_whatever_the_training_one(tiny_dataset, tmp_path) -> None:
    trainer = Trainer(small_config(tiny_dataset, tmp_path, "train.epochs=1", "train.max_steps=1"))
    trainer.autocast = True  # bf16 training, as on CUDA
    calls = []
    trainer.model.register_forward_hook(
        lambda module, args, output: calls.append((module.training, torch.is_autocast_enabled("cpu")))
    )
    trainer.run()
    assert (True, True) in calls  # the training step ran in bf16
    assert {autocast for training, autocast in calls if not training} == {False}  # validation in fp32


def test_two_runs_with_one_seed_train_the_same_weights_with_deterministic_kernels(tiny_dataset, tmp_path) -> None:
    torch.use_deterministic_algorithms(False)  # as a fresh process starts (an earlier test may have set them)
    torch.backends.cudnn.deterministic = False
    overrides = ("train.epochs=1", "train.max_steps=2", "train.seed=5")
    runs = [train(small_config(tiny_dataset, tmp_path / name, *overrides)) for name in ("a", "b")]
    a, b = (load_checkpoint(run.best_checkpoint)["model"] for run in runs)
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic


def test_model_selection_keeps_the_best_val_acc_and_exports_an_inference_checkpoint(tiny_dataset, tmp_path) -> None:
    result = train(small_config(tiny_dataset, tmp_path, "train.epochs=2"))
    best = load_checkpoint(result.best_checkpoint)
    exported = load_checkpoint(result.model_checkpoint)
    history = result.state.history
    assert len(history) == 2 and best["metrics"]["acc@0.5"] == max(h["acc@0.5"] for h in history)
    assert "optimizer" in best and "optimizer" not in exported
    assert exported["config"] == best["config"] and exported["config"].model.reference_size == 128
    assert result.model_checkpoint.stat().st_size < best_size(result.best_checkpoint)


def test_a_run_from_a_checkpoint_never_reads_its_backbone_weights_file(tiny_dataset, tmp_path) -> None:
    gone = tmp_path / "swin.pt"  # named by the base's config, absent on this machine
    config = small_config(tiny_dataset, tmp_path / "ft", "train.max_steps=2", f"model.backbone.weights={gone}")
    base = save_checkpoint(tmp_path / "base.pt", config, build_model(config.model, load_pretrained=False).state_dict())
    assert train(config, init_from=base, hooks=StopAfter(1)).status == "cancelled"
    resumed = train(config, resume=tmp_path / "ft" / "last.pt")
    assert resumed.state.step == 2
    assert load_checkpoint(tmp_path / "ft" / "last.pt")["config"].model.backbone.weights == str(gone)


def test_a_warm_start_from_another_architecture_loads_the_tensors_that_fit_and_says_which_are_fresh(
    tiny_dataset, tmp_path, capsys
) -> None:
    old = small_config(tiny_dataset, tmp_path / "old", "model.moe.shared_expert=false")
    base_weights = build_model(old.model, seed=5, load_pretrained=False).state_dict()
    base = save_checkpoint(tmp_path / "base.pt", old, base_weights)
    new = small_config(tiny_dataset, tmp_path / "new", "model.moe.shared_expert=true", "train.max_steps=1")
    with pytest.raises(RuntimeError, match="shared_expert"):  # a plain init_from is strict
        Trainer(new, init_from=base)
    trainer = Trainer(small_config(tiny_dataset, tmp_path / "new", "model.moe.shared_expert=true",
                                   "train.init_partial=true"), init_from=base)  # fmt: skip
    state = trainer.model.state_dict()
    shared = [name for name in state if "shared_expert" in name]
    assert shared and all(name not in base_weights for name in shared)
    assert all(torch.equal(state[name].cpu(), tensor) for name, tensor in base_weights.items())
    said = capsys.readouterr().out
    assert "freshly initialised" in said and "shared_expert" in said


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
