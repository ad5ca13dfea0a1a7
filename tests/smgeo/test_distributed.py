import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from smgeo.distributed import ShardedSampler

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(*args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        *args,
    ]


@pytest.mark.slow
def test_two_process_ddp_steps_when_an_expert_gets_no_tokens(tmp_path: Path) -> None:
    result = subprocess.run(
        torchrun(str(ROOT / "tests/smgeo/scripts/ddp_moe_step.py"), str(tmp_path)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(load[5] == 0 for rank in ranks for load in rank["loads"])
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-12)  # replicas stayed in sync


def test_sharded_sampler_splits_an_epoch_between_ranks_and_resumes_mid_epoch() -> None:
    shards = [ShardedSampler(10, rank, 2, shuffle=True, seed=3) for rank in (0, 1)]
    for shard in shards:
        shard.set_epoch(1)
    first, second = list(shards[0]), list(shards[1])
    assert sorted(first + second) == list(range(10)) and len(first) == len(second) == 5
    shards[0].set_epoch(1, skip=2)
    assert list(shards[0]) == first[2:] and len(shards[0]) == 3
    shards[0].set_epoch(2)
    assert list(shards[0]) != first
