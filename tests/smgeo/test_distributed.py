import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from smgeo.distributed import ShardedSampler, setup_distributed

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


def run_two_ranks(script: str, out_dir: Path) -> list[dict]:
    """Run tests/smgeo/scripts/<script> on 2 gloo processes; each writes rank<r>.json into out_dir."""
    result = subprocess.run(
        torchrun(str(ROOT / "tests/smgeo/scripts" / script), str(out_dir)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads((out_dir / f"rank{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.slow
def test_two_process_ddp_steps_when_an_expert_gets_no_tokens(tmp_path: Path) -> None:
    ranks = run_two_ranks("ddp_moe_step.py", tmp_path)
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


@pytest.mark.slow
def test_two_process_ddp_each_rank_restores_its_own_random_state(tmp_path: Path) -> None:
    ranks = run_two_ranks("ddp_rng_state.py", tmp_path)
    assert all(rank["restored"] == rank["saved"] for rank in ranks)  # torch, python and numpy streams continue
    assert ranks[0]["saved"] != ranks[1]["saved"]  # and each rank continues its own


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """CUDA 'present' on a CPU machine; records the devices set and the process groups started."""
    calls: dict[str, list] = {"set_device": [], "init_process_group": []}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", calls["set_device"].append)
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", calls["init_process_group"].append)
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_an_explicit_cuda_device_is_used_outside_torchrun(fake_cuda: dict[str, list]) -> None:
    context = setup_distributed("cuda:1")
    assert context.device == torch.device("cuda", 1) and fake_cuda["set_device"] == [torch.device("cuda", 1)]
    assert setup_distributed("cuda").device == torch.device("cuda", 0)
    assert setup_distributed(None).device == torch.device("cuda", 0)
    assert setup_distributed("cpu").device == torch.device("cpu") and fake_cuda["init_process_group"] == []


def test_under_torchrun_each_process_takes_the_gpu_of_its_local_rank(
    fake_cuda: dict[str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    context = setup_distributed("cuda:0")
    assert context.device == torch.device("cuda", 1) and context.rank == 1 and context.enabled
    assert fake_cuda["set_device"] == [torch.device("cuda", 1)] and fake_cuda["init_process_group"] == ["nccl"]
