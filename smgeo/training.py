"""The training loop: AdamW, warm-up + cosine, gradient clipping, bf16 autocast on CUDA, DDP via torchrun,
checkpoints with exact resume, model selection on a val metric (acc@0.5; fine-tunes: mIoU, with the starting
weights as a candidate), JSON-lines metrics and a progress hook.

Run with `smgeo train` (one process) or `torchrun --nproc_per_node N -m smgeo train` (DDP).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from smgeo.allocator import keep_freed_memory
from smgeo.checkpoint import export_for_inference, load_checkpoint, save_checkpoint
from smgeo.config import SMGeoConfig
from smgeo.data.cvogl import CVOGLDataset
from smgeo.data.transforms import build_transforms, normalize_images, training_decode_sides
from smgeo.determinism import all_rng_states, restore_own_rng_state, seed_everything
from smgeo.distributed import DistributedContext, ShardedSampler, any_rank, setup_distributed, teardown_distributed
from smgeo.evaluation import SERVING_AUTOCAST, evaluate
from smgeo.losses import build_criterion
from smgeo.model import build_model
from smgeo.resume import check_resumable
from smgeo.router_stats import RouterMonitor
from smgeo.schedule import build_scheduler, effective_lr

TRAIN_INPUTS = ("query", "reference", "click", "box")
SELECT_METRICS = ("acc@0.5", "acc@0.25", "mIoU")


class TrainingHooks(Protocol):
    """What the platform plugs into a run: progress reports and a cancel flag (checked every step)."""

    def on_progress(self, progress: dict[str, Any]) -> None: ...

    def should_stop(self) -> bool: ...


class NoHooks:
    def on_progress(self, progress: dict[str, Any]) -> None:
        pass

    def should_stop(self) -> bool:
        return False


@dataclass
class TrainState:
    epoch: int = 0
    step: int = 0  # optimizer steps taken
    batch_in_epoch: int = 0  # batches of the current epoch already taken (for exact resume)
    best_metric: float = -1.0
    best_epoch: int = -1
    best_step: int = -1  # the step of the kept weights (0: the starting weights, with train.eval_initial)
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per evaluation


@dataclass
class TrainResult:
    status: str  # "finished" or "cancelled"
    state: TrainState
    best_checkpoint: Path | None
    model_checkpoint: Path | None  # inference-only export of the best weights
    val_metrics: dict[str, float] | None
    effective_lr: float  # the peak learning rate used: train.lr scaled to the global batch


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on biases, norms, embeddings and position tables."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        skip = param.ndim <= 1 or "embed" in name or "relative_position_bias_table" in name
        (no_decay if skip else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def freeze(model: torch.nn.Module, prefixes: tuple[str, ...] | list[str]) -> None:
    """Stop training the parameters whose names start with one of `prefixes` (e.g. "backbone"); ValueError naming a
    prefix that matches no parameter."""
    for prefix in prefixes:
        matched = [param for name, param in model.named_parameters() if name.startswith(prefix)]
        if not matched:
            raise ValueError(f"train.frozen: no model parameter is named {prefix!r}...")
        for param in matched:
            param.requires_grad_(False)


def build_loaders(config: SMGeoConfig, context: DistributedContext) -> tuple[DataLoader, DataLoader, ShardedSampler]:
    """The training loader gives uint8 images (normalised on the device by `_step`); validation gives them
    normalised, as `evaluate` and the predictor take them."""
    data, model_cfg, train_cfg = config.data, config.model, config.train
    common = {"data_root": data.data_root, "data_name": data.data_name, "frame_size": data.frame_size}
    sizes = (model_cfg.query_size, model_cfg.reference_size)
    train_set = CVOGLDataset(
        split="train",
        seed=train_cfg.seed,
        **common,
        transform=build_transforms(*sizes, train=data.augment, normalize=False, views=data.views),
        decode_sides=training_decode_sides(*sizes),
        cache_dir=Path(data.data_root) / data.data_name / ".decoded" if data.decode_cache else None,
    )
    val_set = CVOGLDataset(split="val", **common, transform=build_transforms(*sizes, train=False))
    # The epoch travels with each index (with_epoch): workers kept alive across epochs still get each epoch's seed.
    sampler = ShardedSampler(
        len(train_set), context.rank, context.world_size, shuffle=True, seed=train_cfg.seed, with_epoch=True
    )
    val_sampler = ShardedSampler(len(val_set), context.rank, context.world_size, shuffle=False)
    loader_args = {
        "batch_size": train_cfg.batch_size,
        "num_workers": data.num_workers,
        "persistent_workers": data.num_workers > 0,  # no worker start-up (fork, imports) at every epoch and eval
        "pin_memory": context.device.type == "cuda",  # pinned batches copy asynchronously (non_blocking below)
    }
    train_loader = DataLoader(train_set, sampler=sampler, drop_last=True, **loader_args)
    val_loader = DataLoader(val_set, sampler=val_sampler, **loader_args)
    return train_loader, val_loader, sampler


class Trainer:
    """One training run. `run()` trains to the end, to max_steps, or until the hooks ask it to stop."""

    def __init__(
        self,
        config: SMGeoConfig,
        hooks: TrainingHooks | None = None,
        resume: str | Path | None = None,
        init_from: str | Path | None = None,
        device: str | None = None,
    ) -> None:
        self.config, self.hooks = config, hooks or NoHooks()
        self.context = setup_distributed(device)
        if self.context.device.type == "cpu":
            keep_freed_memory()  # large activations reuse freed memory (smgeo/allocator.py)
        self.out_dir = Path(config.train.out_dir)
        seed_everything(config.train.seed + self.context.rank, config.train.deterministic)
        self.train_loader, self.val_loader, self.sampler = build_loaders(config, self.context)
        # Weights from a checkpoint (init_from, resume) replace the backbone's: its weights file is not read.
        model = build_model(config.model, seed=config.train.seed, load_pretrained=not (init_from or resume))
        self.model = model.to(self.context.device)
        if init_from:
            weights = load_checkpoint(init_from)["model"]
            if config.train.init_partial:
                weights = matching_weights(self.model, weights, str(init_from))
            self.model.load_state_dict(weights, strict=not config.train.init_partial)
        freeze(self.model, config.train.frozen)
        if config.train.select_metric not in SELECT_METRICS:
            raise ValueError(f"train.select_metric must be one of {SELECT_METRICS}, got {config.train.select_metric!r}")
        self.criterion = build_criterion(config.loss)
        self.steps_per_epoch = len(self.train_loader)
        if self.steps_per_epoch == 0:
            raise ValueError("the training split is smaller than one batch; lower train.batch_size")
        self.total_steps = config.train.epochs * self.steps_per_epoch
        if config.train.max_steps is not None:
            self.total_steps = min(self.total_steps, config.train.max_steps)
        # train.lr is given for a global batch of 8; the run uses it scaled linearly to its own global batch.
        self.global_batch = config.train.batch_size * self.context.world_size
        self.lr = lr = effective_lr(config.train.lr, self.global_batch)
        # fused AdamW (one kernel for every parameter) on CUDA; the multi-tensor (foreach) one elsewhere
        kernel = {"fused": True} if self.context.device.type == "cuda" else {"foreach": True}
        self.optimizer = torch.optim.AdamW(parameter_groups(self.model, config.train.weight_decay), lr=lr, **kernel)
        warmup = int(config.train.warmup_epochs * self.steps_per_epoch)
        self.scheduler = build_scheduler(self.optimizer, warmup, self.total_steps, config.train.min_lr / lr)
        self.state = TrainState()
        self.last_losses: dict[str, float] = {}  # the statistics of the last logging step, as numbers
        if resume:
            self._restore(resume)
        # DDP wraps after restoring, so the wrapped module starts from identical weights on every rank.
        self.ddp = DistributedDataParallel(self.model) if self.context.enabled else None
        # bf16 autocast needs no loss scaling; it is only used on CUDA (CPU bf16 matmuls are slow).
        self.autocast = config.train.amp and self.context.device.type == "cuda"
        sinks = (self._log, self.hooks.on_progress)  # router statistics of every evaluation go where its metrics go
        self.router_monitor = RouterMonitor(self.val_loader.dataset, sinks, batch_size=config.train.batch_size)

    @property
    def forward_model(self) -> torch.nn.Module:
        return self.ddp or self.model

    def run(self) -> TrainResult:
        status = "finished"
        progress = self._progress_bar()
        try:
            if self.config.train.eval_initial and not self.state.history:
                self._evaluate_and_select()  # the starting weights: the candidate to beat
            while self.state.epoch < self.config.train.epochs and not self._reached_max_steps():
                if self._train_epoch(progress) == "cancelled":
                    status = "cancelled"
                    break
                self.state.epoch += 1
                self.state.batch_in_epoch = 0
                if self._epoch_evaluates():
                    self._evaluate_and_select()
                self._save("last.pt")
            if status == "finished" and self._last_evaluated_step() != self.state.step:
                self._evaluate_and_select()
        finally:
            if progress is not None:
                progress.close()
        return self._result(status)

    def _reached_max_steps(self) -> bool:
        return self.state.step >= self.total_steps

    def _epoch_evaluates(self) -> bool:
        """Whether the epoch just ended evaluates: every eval_every_epochs and at the last step (with
        eval_every_steps, the steps decide: `_train_epoch` evaluates)."""
        if self.config.train.eval_every_steps:
            return False
        return self.state.epoch % self.config.train.eval_every_epochs == 0 or self._reached_max_steps()

    def _last_evaluated_step(self) -> int | None:
        return self.state.history[-1]["step"] if self.state.history else None

    def _train_epoch(self, progress: tqdm | None) -> str:
        self.model.train()
        self.sampler.set_epoch(self.state.epoch, skip=self.state.batch_in_epoch * self.config.train.batch_size)
        started = time.monotonic()
        every = self.config.train.log_every_steps
        for batch in self.train_loader:
            # the cancel flag crosses ranks (a collective) only every log interval; alone, it is checked every step
            if (not self.context.enabled or self.state.step % every == 0) and any_rank(
                self.hooks.should_stop() if self.context.is_main else False, self.context
            ):
                self._save("last.pt")
                return "cancelled"
            statistics = self._step(batch)
            self.state.step += 1
            self.state.batch_in_epoch += 1
            if not self.last_losses or self._logging_step():  # one host sync per log interval, not per value
                names = list(statistics)
                self.last_losses = dict(zip(names, torch.stack([statistics[n] for n in names]).tolist(), strict=True))
            self._report(self.last_losses, progress, started)
            every_steps = self.config.train.eval_every_steps
            if every_steps and (self.state.step % every_steps == 0 or self._reached_max_steps()):
                self._evaluate_and_select()
                self._save("last.pt")
                self.model.train()
            if self._reached_max_steps():
                break
        return "done"

    def _logging_step(self) -> bool:
        return self.state.step % self.config.train.log_every_steps == 0 or self.state.step == self.total_steps

    def _step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """One optimizer step; its losses and statistics as 0-d tensors (read on the host only when logged)."""
        device = self.context.device
        query, reference, click, boxes = (batch[k].to(device, non_blocking=True) for k in TRAIN_INPUTS)
        # uint8 from the training loader, normalised here on the device; float batches come normalised already
        query, reference = (normalize_images(x) if x.dtype == torch.uint8 else x for x in (query, reference))
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=self.autocast):
            outputs = self.forward_model(query, reference, click)
        losses = self.criterion(outputs, boxes, step=self.state.step)
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        statistics = {f"loss_{name}": value.detach().float() for name, value in losses.items()}
        statistics["grad_norm"] = grad_norm.detach().float()
        loads = [layer["load"].detach().max().float() for layer in outputs["aux"]]
        statistics["expert_load_max"] = torch.stack(loads).max() if loads else grad_norm.new_zeros(())
        return statistics

    def _report(self, losses: dict[str, float], progress: tqdm | None, started: float) -> None:
        """losses: the named losses (loss_*) and statistics of the last logging step; logged every log_every_steps,
        hooked always (between logging steps the hook sees the step count move and the last logged losses)."""
        if not self.context.is_main:
            return
        done_in_epoch = self.state.batch_in_epoch
        seconds_per_step = (time.monotonic() - started) / max(1, done_in_epoch)
        report = {
            "kind": "train",
            "epoch": self.state.epoch,
            "step": self.state.step,
            "total_steps": self.total_steps,
            "lr": self.scheduler.get_last_lr()[0],
            "effective_lr": self.lr,
            "global_batch": self.global_batch,
            "loss": losses["loss_total"],
            "eta_s": seconds_per_step * (self.total_steps - self.state.step),
            **losses,
        }
        if self._logging_step():
            self._log(report)
        self.hooks.on_progress(report)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(epoch=self.state.epoch, loss=f"{losses['loss_total']:.3f}")

    def _evaluate_and_select(self) -> None:
        # Select in the precision the predictor serves in, whatever the training precision.
        metrics, _ = evaluate(
            self.model, self.val_loader, self.context, frame_size=self.config.data.frame_size, autocast=SERVING_AUTOCAST
        )
        entry = {"kind": "val", "epoch": self.state.epoch, "step": self.state.step, **metrics}
        self.state.history.append(entry)
        if self.context.is_main:
            self._log(entry)
            self.hooks.on_progress(entry)
            self.router_monitor.observe(self.model, self.state.epoch, self.state.step)
        score = metrics[self.config.train.select_metric]
        if score > self.state.best_metric:  # a tie keeps the earlier weights (the starting ones first)
            self.state.best_metric, self.state.best_epoch = score, self.state.epoch
            self.state.best_step = self.state.step
            self._save("best.pt", metrics=metrics)

    def _checkpoint_extra(self) -> dict[str, Any]:
        state = self.state
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": state.epoch,
            "step": state.step,
            "batch_in_epoch": state.batch_in_epoch,
            "best_metric": state.best_metric,
            "best_epoch": state.best_epoch,
            "best_step": state.best_step,
            "history": state.history,
            "effective_lr": self.lr,
            "global_batch": self.global_batch,
        }

    def _save(self, name: str, metrics: dict[str, float] | None = None) -> None:
        """Called on every rank: each rank's RNG state is gathered, then rank 0 writes."""
        rng = all_rng_states(self.context)
        if self.context.is_main:
            extra = {**self._checkpoint_extra(), "rng": rng}
            if metrics is not None:
                extra["metrics"] = metrics
            save_checkpoint(self.out_dir / name, self.config, self.model.state_dict(), **extra)

    def _restore(self, path: str | Path) -> None:
        payload = load_checkpoint(path)
        check_resumable(payload, self.config, self.global_batch, str(path))
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.state = TrainState(
            payload["epoch"],
            payload["step"],
            payload["batch_in_epoch"],
            payload["best_metric"],
            payload["best_epoch"],
            payload.get("best_step", -1),
            list(payload["history"]),
        )
        restore_own_rng_state(payload["rng"], self.context.rank)

    def _log(self, entry: dict[str, Any]) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with (self.out_dir / "metrics.jsonl").open("a") as handle:
            handle.write(json.dumps({**entry, "time": time.time()}) + "\n")

    def _progress_bar(self) -> tqdm | None:
        if not self.context.is_main:
            return None
        return tqdm(total=self.total_steps, initial=self.state.step, desc="train", unit="step", dynamic_ncols=True)

    def _result(self, status: str) -> TrainResult:
        best = self.out_dir / "best.pt"
        exported = None
        if self.context.is_main and best.exists():
            exported = export_for_inference(best, self.out_dir / "model.pt")
        # checkpoints written before best_step was recorded name the best epoch only
        key, value = ("step", self.state.best_step) if self.state.best_step >= 0 else ("epoch", self.state.best_epoch)
        val = next((h for h in reversed(self.state.history) if h[key] == value), None)
        return TrainResult(status, self.state, best if best.exists() else None, exported, val, self.lr)


def matching_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """The tensors of `weights` that fit `model` by name and shape (a warm start from another architecture); says
    which of the model's own stay freshly initialised."""
    own = model.state_dict()
    kept = {name: tensor for name, tensor in weights.items() if name in own and own[name].shape == tensor.shape}
    fresh = sorted(name for name in own if name not in kept)
    print(
        f"warm start from {source}: {len(kept)} of the model's {len(own)} tensors loaded; freshly initialised: "
        + (", ".join(fresh[:8]) + (f" and {len(fresh) - 8} more" if len(fresh) > 8 else "") if fresh else "none")
    )
    return kept


def train(
    config: SMGeoConfig,
    hooks: TrainingHooks | None = None,
    resume: str | Path | None = None,
    init_from: str | Path | None = None,
    device: str | None = None,
) -> TrainResult:
    try:
        return Trainer(config, hooks, resume=resume, init_from=init_from, device=device).run()
    finally:
        teardown_distributed()
