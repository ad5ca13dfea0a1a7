"""Run under torchrun with 2 CPU processes: DDP steps of a SparseMoE in which expert 5 receives no tokens.

Writes rank<N>.json with the load of each step and a checksum of the parameters after the last step."""

import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from smgeo.moe import SparseMoE


def main(out_dir: Path) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)  # identical initial weights on every rank
    moe = SparseMoE(dim=16, hidden=32, num_experts=6, top_k=2)
    with torch.no_grad():
        moe.router.scale_embed.weight.zero_()
        for gate in moe.router.gates:
            gate.weight[5] = -10.0  # expert 5 is never chosen for positive inputs
    model = DistributedDataParallel(moe)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(100 + rank)  # different data per rank
    loads = []
    for _ in range(3):
        x = torch.rand(40, 16, generator=generator)
        out, aux = model(x, torch.arange(40) % 2, torch.zeros(40, dtype=torch.long))
        loss = out.pow(2).mean() + 0.01 * aux["balance"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loads.append(aux["load"].tolist())
    checksum = sum(p.detach().double().sum().item() for p in moe.parameters())
    (out_dir / f"rank{rank}.json").write_text(json.dumps({"loads": loads, "checksum": checksum}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    os._exit(0)
