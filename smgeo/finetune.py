"""Fine-tuning a trained model on a few reviewed labels: the recipe, the config it trains with, and `finetune`.

The recipe's defaults are the ones the development design chose (`smgeo recipe`, docs/results/finetune_recipe_*.json,
docs/model.md "Fine-tuning on a few labels"): a fixed budget of 300 optimizer steps whatever the label count, a
learning rate near the base's own (1e-4 for a batch of 8), every part of the model trained (a frozen backbone cannot
follow a new look), the standard training views, and selection on val mIoU (continuous: a few val labels rank
nothing by acc@0.5) with the starting weights as the first candidate, so a fine-tune that does not beat the base on
the team's own val labels keeps the base (and says so).

Run with `smgeo finetune --init-from CKPT --data-root ROOT --data-name NAME --out-dir DIR`: the train split trains,
the val split decides, the test split is never read. The kept model is DIR/model.pt, as `smgeo train` writes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smgeo.checkpoint import load_checkpoint
from smgeo.config import SMGeoConfig, merge
from smgeo.data.cvogl import read_records
from smgeo.training import TrainingHooks, TrainResult, train

KEPT_BASE = "base"
KEPT_FINE_TUNED = "fine-tuned"


@dataclass(frozen=True)
class FineTuneRecipe:
    """How a fine-tune trains. lr: the peak for a global batch of 8 (scaled to the run's, as `smgeo train` does);
    steps: optimizer steps, the same budget whatever the label count; warmup_share: of the steps; min_lr_ratio: the
    cosine's floor as a share of lr; eval_every_steps: val evaluations (the base is evaluated first, at step 0);
    views: the training augmentation ("standard", or "strong": deeper re-crops, click jitter, the camera's
    photometric change on the query; measured and not kept);
    frozen: model parts not trained, by name prefix; select_metric: the val metric that picks the kept weights."""

    steps: int = 300
    batch_size: int = 8
    lr: float = 1e-4
    warmup_share: float = 0.1
    min_lr_ratio: float = 0.1
    weight_decay: float = 1e-4
    eval_every_steps: int = 25
    views: str = "standard"
    frozen: tuple[str, ...] = field(default_factory=tuple)
    select_metric: str = "mIoU"
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            "steps must be >= 1": self.steps >= 1,
            "batch_size must be >= 1": self.batch_size >= 1,
            "lr must lie in 1e-7..0.1": 1e-7 <= self.lr <= 0.1,
            "warmup_share must lie in 0..1": 0 <= self.warmup_share <= 1,
            "min_lr_ratio must lie in 0..1": 0 <= self.min_lr_ratio <= 1,
            "eval_every_steps must be >= 1": self.eval_every_steps >= 1,
        }
        problems = [message for message, ok in checks.items() if not ok]
        if problems:
            raise ValueError("; ".join(problems))


@dataclass
class FineTuneResult:
    """status: "finished" or "cancelled"; kept: KEPT_BASE when no fine-tuned candidate beat the base on val
    (model.pt then holds the base's weights), else KEPT_FINE_TUNED; base_val / val: the base's and the kept
    weights' val metrics (with n); select_metric: the one that decided; best_step: the kept weights' step (0: the
    base); steps: optimizer steps taken."""

    status: str
    kept: str
    model_checkpoint: Path | None
    base_val: dict[str, Any] | None
    val: dict[str, Any] | None
    select_metric: str
    best_step: int
    steps: int
    effective_lr: float

    @property
    def summary(self) -> str:
        """One sentence for a person: what was kept and why."""
        if self.status != "finished" or self.val is None:
            return f"the fine-tune was {self.status}"
        metric, n = self.select_metric, self.val.get("n")
        if self.kept == KEPT_BASE:
            return (f"kept the base weights: no fine-tuned candidate beat them on val {metric} "
                    f"({self.val[metric]:.3f}, n = {n})")  # fmt: skip
        before = f"{self.base_val[metric]:.3f}" if self.base_val else "?"
        return (f"kept the fine-tuned weights of step {self.best_step}: val {metric} {before} -> "
                f"{self.val[metric]:.3f} (n = {n})")  # fmt: skip


def steps_per_epoch(train_pairs: int, batch_size: int) -> int:
    """Optimizer steps an epoch of `train_pairs` takes (the trainer drops the last partial batch)."""
    return train_pairs // batch_size


def recipe_config(
    base: SMGeoConfig,
    recipe: FineTuneRecipe,
    *,
    data_root: str | Path,
    data_name: str,
    out_dir: str | Path,
    train_pairs: int,
    processes: int = 1,
    loader_workers: int = 0,
) -> SMGeoConfig:
    """The base checkpoint's config with the recipe's training, pointed at a dataset of `train_pairs` train pairs.
    The batch (per process) is lowered so every process gets a whole batch; the epochs are as many as the steps
    need. loader_workers: DataLoader processes (0 where the caller may not start children, e.g. a Celery pool
    process). Under several processes every step is logged (the progress a caller follows in metrics.jsonl)."""
    if train_pairs < 1:
        raise ValueError("the train split has no pairs: a fine-tune needs at least one label to train on")
    batch_size = max(1, min(recipe.batch_size, math.ceil(train_pairs / processes)))
    per_epoch = max(1, steps_per_epoch(math.ceil(train_pairs / processes), batch_size))
    train = {
        "epochs": math.ceil(recipe.steps / per_epoch), "max_steps": recipe.steps, "batch_size": batch_size,
        "lr": recipe.lr, "min_lr": recipe.lr * recipe.min_lr_ratio, "weight_decay": recipe.weight_decay,
        "warmup_epochs": recipe.warmup_share * recipe.steps / per_epoch, "eval_every_steps": recipe.eval_every_steps,
        "eval_initial": True, "select_metric": recipe.select_metric, "frozen": tuple(recipe.frozen),
        "seed": recipe.seed, "out_dir": str(out_dir), "log_every_steps": 1 if processes > 1 else 10,
    }  # fmt: skip
    data = {"data_root": str(data_root), "data_name": data_name, "num_workers": loader_workers, "augment": True,
            "views": recipe.views, "decode_cache": True}  # fmt: skip
    return merge(base, {"train": train, "data": data})


def finetune_config(
    init_from: str | Path,
    data_root: str | Path,
    data_name: str,
    out_dir: str | Path,
    recipe: FineTuneRecipe | None = None,
    processes: int = 1,
    loader_workers: int = 0,
) -> SMGeoConfig:
    """recipe_config for the checkpoint `init_from` and the dataset at data_root/data_name (its train split
    counted)."""
    base = load_checkpoint(init_from)["config"]
    pairs = len(read_records(data_root, data_name, "train"))
    return recipe_config(
        base, recipe or FineTuneRecipe(), data_root=data_root, data_name=data_name, out_dir=out_dir,
        train_pairs=pairs, processes=processes, loader_workers=loader_workers,
    )  # fmt: skip


def finetune(
    init_from: str | Path,
    data_root: str | Path,
    data_name: str,
    out_dir: str | Path,
    recipe: FineTuneRecipe | None = None,
    hooks: TrainingHooks | None = None,
    device: str | None = None,
    loader_workers: int = 0,
) -> FineTuneResult:
    """Fine-tune the checkpoint `init_from` on data_root/data_name with the recipe (default: the measured one), in
    this process (CUDA when present). The kept weights are out_dir/model.pt."""
    config = finetune_config(init_from, data_root, data_name, out_dir, recipe, loader_workers=loader_workers)
    return run_finetune(config, init_from, hooks, device)


def run_finetune(
    config: SMGeoConfig, init_from: str | Path, hooks: TrainingHooks | None = None, device: str | None = None
) -> FineTuneResult:
    """Train a config made by recipe_config from the checkpoint `init_from` in this process; what it kept."""
    return result_of(train(config, hooks=hooks, init_from=init_from, device=device), config)


def kept_in(checkpoint: str | Path) -> str:
    """KEPT_BASE or KEPT_FINE_TUNED for the model.pt a fine-tune wrote (in this process or under torchrun): the
    base's weights are those of step 0."""
    return KEPT_BASE if load_checkpoint(checkpoint).get("step") == 0 else KEPT_FINE_TUNED


def result_of(result: TrainResult, config: SMGeoConfig) -> FineTuneResult:
    """What a fine-tune's training run kept: the base (its step-0 evaluation stayed the best) or fine-tuned
    weights."""
    state = result.state
    base_val = next((entry for entry in state.history if entry["step"] == 0), None)
    kept = KEPT_BASE if state.best_step == 0 else KEPT_FINE_TUNED
    return FineTuneResult(
        result.status, kept, result.model_checkpoint, base_val, result.val_metrics, config.train.select_metric,
        state.best_step, state.step, result.effective_lr,
    )  # fmt: skip
