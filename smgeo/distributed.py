"""Distributed training helpers: process-group setup from torchrun's environment, and a resumable sharded sampler."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str | None = None) -> DistributedContext:
    """Join the process group torchrun describes (WORLD_SIZE > 1): NCCL on CUDA, gloo on CPU.

    Without torchrun this is one process on `device` as given (cpu, cuda, cuda:N), else CUDA when present, else
    the CPU. Under torchrun each process takes the GPU of its LOCAL_RANK (a cuda:N index is not used)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    chosen = pick_device(device, local_rank if world_size > 1 else None)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return DistributedContext(rank, world_size, local_rank, chosen)


def pick_device(device: str | None, local_rank: int | None) -> torch.device:
    """`device` (default: CUDA when present, else the CPU); a CUDA device gets the index `local_rank` under
    torchrun, else the one given (cuda alone: cuda:0)."""
    chosen = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if chosen.type != "cuda":
        return chosen
    if local_rank is not None:
        return torch.device("cuda", local_rank)
    return torch.device("cuda", chosen.index or 0)


def teardown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def any_rank(flag: bool, context: DistributedContext) -> bool:
    """True on every rank when `flag` is true on any rank (e.g. a cancel seen by rank 0 stops all)."""
    if not context.enabled:
        return flag
    tensor = torch.tensor([1.0 if flag else 0.0], device=context.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())


def gather_objects(items: list, context: DistributedContext) -> list:
    """Concatenate every rank's list of picklable items (on every rank)."""
    if not context.enabled:
        return items
    gathered: list[list] = [[] for _ in range(context.world_size)]
    dist.all_gather_object(gathered, items)
    return [item for part in gathered for item in part]


class ShardedSampler(Sampler[int]):
    """This rank's share of a seeded per-epoch permutation (padded so every rank gets as many indices).

    `set_epoch(epoch, skip)` starts the epoch after `skip` already-seen indices: how a resumed run continues
    exactly where the checkpoint left off. `with_epoch=True` yields `(epoch, index)` pairs: the sampler runs in the
    main process, so this is how DataLoader workers that persist across epochs learn each epoch (its augmentation
    seed), where a `set_epoch` on their copy of the dataset would never reach them."""

    def __init__(
        self,
        length: int,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        with_epoch: bool = False,
    ) -> None:
        self.length, self.rank, self.world_size, self.shuffle, self.seed = length, rank, world_size, shuffle, seed
        self.epoch, self.skip, self.with_epoch = 0, 0, with_epoch

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def _indices(self) -> list[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.length, generator=generator).tolist()
        else:
            order = list(range(self.length))
        padded = order + order[: (-len(order)) % self.world_size]
        return padded[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int] | Iterator[tuple[int, int]]:
        indices = self._indices()[self.skip :]
        return iter([(self.epoch, index) for index in indices] if self.with_epoch else indices)

    def __len__(self) -> int:
        return -(-self.length // self.world_size) - self.skip
