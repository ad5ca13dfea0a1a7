"""Fine-tuning across GPUs: launch `torchrun` in a subprocess, follow its metrics.jsonl, stop its process group.

The worker's fine-tune (workers.fine_tune) uses this when it may use more than one GPU; the subprocess runs the
same `smgeo train` a user would, on the same config.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import torch
import yaml
from django.conf import settings

from smgeo.config import SMGeoConfig, config_to_dict

ROOT = Path(__file__).resolve().parents[1]
FOLLOW_EVERY_S = 0.5


class TorchrunError(Exception):
    """torchrun failed; the reason holds the tail of its output."""


class TrainingHooks(Protocol):
    def on_progress(self, entry: dict[str, Any]) -> None: ...

    def should_stop(self) -> bool: ...


def gpus_to_use() -> int:
    """The CUDA devices a fine-tune may use: all visible ones, or at most settings.FINE_TUNE_GPUS."""
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    wanted = getattr(settings, "FINE_TUNE_GPUS", None)
    return visible if wanted in (None, "") else max(0, min(visible, int(wanted)))


def torchrun_command(processes: int, config_path: Path, base_path: str, out_dir: Path) -> list[str]:
    """`torchrun --standalone --nproc_per_node N -m smgeo train ...` (as `python -m torch.distributed.run`, which is
    what the torchrun script runs: the worker's own interpreter, whatever PATH says)."""
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
        "-m", "smgeo", "train", "--config", str(config_path), "--init-from", base_path, "--out-dir", str(out_dir),
    ]  # fmt: skip


def train_with_torchrun(
    config: SMGeoConfig, base_path: str, reporter: TrainingHooks, processes: int, work: Path
) -> Path | None:
    """Fine-tune with DDP across `processes` GPUs in a torchrun subprocess, following its metrics.jsonl for
    progress and stopping it on cancel. The inference checkpoint, or None when cancelled."""
    config_path, out_dir = work / "config.yaml", Path(config.train.out_dir)
    config_path.write_text(yaml.safe_dump(config_to_dict(config)))
    command = torchrun_command(processes, config_path, base_path, out_dir)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    output_path = work / "torchrun.log"
    with output_path.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            entries = follow_jsonl(out_dir / "metrics.jsonl")
            while process.poll() is None:
                for entry in next(entries):
                    reporter.on_progress(entry)
                if reporter.should_stop():
                    return None
                time.sleep(FOLLOW_EVERY_S)
            for entry in next(entries):
                reporter.on_progress(entry)
        finally:
            stop_process_group(process)
    if process.returncode != 0:
        tail = output_path.read_text(errors="replace")[-1500:]
        raise TorchrunError(f"torchrun on {processes} GPUs exited with status {process.returncode}:\n{tail}")
    if not (out_dir / "model.pt").is_file():
        raise TorchrunError("torchrun finished without writing a model checkpoint")
    return out_dir / "model.pt"


def follow_jsonl(path: Path) -> Iterator[list[dict[str, Any]]]:
    """Each next(): the entries appended to a JSON-lines file since the last call (a line still being written waits)."""
    offset = 0
    while True:
        entries = []
        if path.is_file():
            with path.open("rb") as handle:
                handle.seek(offset)
                for line in handle:
                    if not line.endswith(b"\n"):
                        break
                    offset += len(line)
                    entries.append(json.loads(line))
        yield entries


def stop_process_group(process: subprocess.Popen, grace_s: float = 30.0) -> None:
    """SIGTERM a subprocess's whole group (torchrun and its ranks), SIGKILL it when it has not exited in time."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=grace_s)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
