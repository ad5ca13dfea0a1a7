"""Is training held back by its data? The training loop's samples/s against the same model's step on batches
already in memory, measured in one process.

The loop is `Trainer`'s own epoch loop (loader, host transfers, logging and cancel checks included); the reference
is `Trainer._step` (forward, backward, clip, AdamW, schedule) on a few batches taken from that loader beforehand and
kept on the device. Rounds of the two alternate and each rate is the median over its rounds, so a machine that
slows down for a while (other jobs on shared cores, clocks) costs a round or two, not the verdict.
The data is a small synthetic CVOGL set in a temporary folder, at the real layout's image sizes (1,024 px
satellites, 256 px queries, JPEG), so decoding costs what it costs on CVOGL.

`baseline=True` swaps in the training loader as it was before the loader was tuned (workers started anew every
epoch, float32 images normalised in the workers, no decode cache), to show what the tuning bought.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from smgeo.bench import synchronize
from smgeo.config import SMGeoConfig, load_config
from smgeo.data.cvogl import CVOGLDataset
from smgeo.data.transforms import build_transforms, training_decode_sides
from smgeo.distributed import ShardedSampler
from smgeo.training import Trainer

TARGET_RATIO = 0.85  # the loop may lose at most 15 % to its data and bookkeeping
DATA_NAME = "BenchTrain"


def _write_dataset(root: Path, scenes: int, seed: int) -> None:
    from smgeo.synth import generate_dataset, synth_options

    options = synth_options(satellite_size=1024, query_size=256, targets_per_scene=4)
    generate_dataset(root, DATA_NAME, options, {"train": scenes, "val": 1, "test": 1}, seed=seed, progress=False)


def _loop_round(trainer: Any, steps: int, bar: tqdm | None) -> float:
    """Seconds for `steps` optimizer steps of the training loop, across epoch ends as `Trainer.run` goes."""
    trainer.total_steps = trainer.state.step + steps
    synchronize(trainer.context.device)
    started = time.perf_counter()
    while trainer.state.step < trainer.total_steps:
        trainer._train_epoch(bar)
        if trainer.state.step < trainer.total_steps:  # the epoch ended first: the next one, as run() does
            trainer.state.epoch += 1
            trainer.state.batch_in_epoch = 0
    synchronize(trainer.context.device)
    return time.perf_counter() - started


def _memory_round(trainer: Any, batches: list[dict[str, Any]], steps: int, bar: tqdm | None) -> float:
    """Seconds for `steps` optimizer steps on batches already on the device (no loader, no logging)."""
    synchronize(trainer.context.device)
    started = time.perf_counter()
    for index in range(steps):
        trainer._step(batches[index % len(batches)])
        if bar is not None:
            bar.update(1)
    synchronize(trainer.context.device)
    return time.perf_counter() - started


def _baseline_loader(config: SMGeoConfig, sampler: ShardedSampler, pin_memory: bool) -> DataLoader:
    """The training loader before tuning: non-persistent workers, float32 normalised images, no decode cache."""
    sizes = (config.model.query_size, config.model.reference_size)
    dataset = CVOGLDataset(
        config.data.data_root,
        config.data.data_name,
        "train",
        transform=build_transforms(*sizes, train=config.data.augment),
        seed=config.train.seed,
        frame_size=config.data.frame_size,
        decode_sides=training_decode_sides(*sizes),
    )
    workers = config.data.num_workers
    return DataLoader(
        dataset, config.train.batch_size, sampler=sampler, num_workers=workers, pin_memory=pin_memory, drop_last=True
    )


def _device_batches(trainer: Any, count: int) -> list[dict[str, Any]]:
    device, batches = trainer.context.device, []
    for batch in trainer.train_loader:
        batches.append({k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()})
        if len(batches) == count:
            break
    return batches


def measure_training_loop(
    config_name: str = "tiny",
    *,
    steps: int = 8,
    rounds: int = 5,
    scenes: int = 16,
    overrides: Sequence[str] = (),
    device: str | None = None,
    progress: bool = True,
    seed: int = 0,
    baseline: bool = False,
) -> dict[str, Any]:
    """Samples/s of the training loop and of the bare step, their ratio and whether it meets TARGET_RATIO.

    steps: optimizer steps per round; rounds: loop/memory pairs timed, each rate their median (one more, untimed,
    warms both up); scenes: synthetic training scenes of 4 pairs each; overrides: `key=value` config overrides (e.g.
    `data.num_workers=0`); baseline: time the untuned loader instead. Returns plain numbers fit for JSON.
    """
    with tempfile.TemporaryDirectory(prefix="smgeo-bench-train-") as scratch:
        root = Path(scratch)
        _write_dataset(root / "data", scenes, seed)
        paths = [f"data.data_root={root / 'data'}", f"data.data_name={DATA_NAME}", f"train.out_dir={root / 'run'}"]
        config = load_config(config_name, [*paths, *overrides])
        trainer = Trainer(config, device=device)
        if baseline:
            pin = trainer.context.device.type == "cuda"
            trainer.train_loader = _baseline_loader(config, trainer.sampler, pin)
        batch_size = config.train.batch_size
        memory_batches = _device_batches(trainer, 2)
        bar = tqdm(total=2 * steps * (rounds + 1), desc="bench train", unit="step", disable=not progress)
        loop_rates, memory_rates = [], []
        try:
            for round_index in range(rounds + 1):
                loop = _loop_round(trainer, steps, bar)
                memory = _memory_round(trainer, memory_batches, steps, bar)
                if round_index > 0:  # round 0 warms up workers, the decode cache, the allocator and kernels
                    loop_rates.append(steps * batch_size / loop)
                    memory_rates.append(steps * batch_size / memory)
        finally:
            bar.close()
            del trainer  # loader workers end with their iterator
    loop_rate, memory_rate = statistics.median(loop_rates), statistics.median(memory_rates)
    ratio = loop_rate / memory_rate
    return {
        "config": config_name,
        "device": str(torch.device(device) if device else ("cuda" if torch.cuda.is_available() else "cpu")),
        "batch_size": batch_size,
        "steps_per_round": steps,
        "rounds": rounds,
        "train_pairs": scenes * 4,
        "loop_samples_per_s": round(loop_rate, 2),
        "memory_samples_per_s": round(memory_rate, 2),
        "ratio": round(ratio, 3),
        "target": TARGET_RATIO,
        "met": ratio >= TARGET_RATIO,
        "loader": {
            "baseline": baseline,
            "persistent_workers": not baseline and config.data.num_workers > 0,
            "images": "float32" if baseline else "uint8",
            "decode_cache": not baseline and config.data.decode_cache,
            "num_workers": config.data.num_workers,
            "augment": config.data.augment,
        },
        "torch_threads": torch.get_num_threads(),
    }
