"""The training loader: workers kept alive across epochs still shuffle and augment per epoch, reproducibly; a
resumed run continues the same order; runs with workers, the decode cache and uint8 batches log the same losses
and still stop when cancelled."""

import json

import torch

from smgeo.distributed import DistributedContext
from smgeo.training import Trainer, build_loaders, train
from tests.smgeo.conftest import small_config
from tests.smgeo.test_training import StopAfter

CPU = DistributedContext(0, 1, 0, torch.device("cpu"))


def _epochs(loader, sampler, epochs: int, skip: int = 0) -> list[list[tuple[int, torch.Tensor]]]:
    """Per epoch: (index, reference pixels) of every sample, in the order the loader gave them."""
    seen = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch, skip=skip)
        seen.append(
            [(int(i), ref) for batch in loader for i, ref in zip(batch["index"], batch["reference"], strict=True)]
        )
    return seen


def test_persistent_workers_shuffle_and_augment_per_epoch_reproducibly(tiny_dataset, tmp_path) -> None:
    config = small_config(tiny_dataset, tmp_path, "data.num_workers=2", "data.decode_cache=false")
    loader, _, sampler = build_loaders(config, CPU)
    assert loader.persistent_workers and loader.dataset.cache is None
    first = _epochs(loader, sampler, 3)
    orders = [[index for index, _ in epoch] for epoch in first]
    assert len({tuple(order) for order in orders}) == 3  # a new order every epoch
    pixels = [{index: ref for index, ref in epoch} for epoch in first]
    assert not torch.equal(pixels[0][0], pixels[1][0])  # and new augmentation, though the workers persist
    assert all(torch.equal(pixels[1][i], loader.dataset[(1, i)]["reference"]) for i in pixels[1])
    again_loader, _, again_sampler = build_loaders(small_config(tiny_dataset, tmp_path, "data.decode_cache=true"), CPU)
    again = _epochs(again_loader, again_sampler, 3)  # the same seed, no workers, cached: the same batches
    assert [[i for i, _ in e] for e in again] == orders
    assert all(torch.equal(a[1], b[1]) for e, f in zip(first, again, strict=True) for a, b in zip(e, f, strict=True))


def test_a_resumed_epoch_continues_the_same_sample_order(tiny_dataset, tmp_path) -> None:
    config = small_config(tiny_dataset, tmp_path, "data.num_workers=1", "train.batch_size=2")
    loader, _, sampler = build_loaders(config, CPU)
    full = [i for i, _ in _epochs(loader, sampler, 2)[1]]
    sampler.set_epoch(1, skip=2)
    assert [int(i) for batch in loader for i in batch["index"]] == full[2:]


def _losses(out_dir) -> list[dict]:
    lines = (out_dir / "metrics.jsonl").read_text().splitlines()
    return [
        {k: v for k, v in e.items() if k.startswith("loss")} for e in map(json.loads, lines) if e["kind"] == "train"
    ]


def test_workers_and_the_decode_cache_log_the_same_losses(tiny_dataset, tmp_path) -> None:
    steps = ("train.max_steps=4", "train.epochs=2", "train.eval_every_epochs=5")
    train(small_config(tiny_dataset, tmp_path / "plain", *steps, "data.decode_cache=false"))
    faster = ("data.num_workers=2", "data.decode_cache=true")
    train(small_config(tiny_dataset, tmp_path / "fast", *steps, *faster))
    assert _losses(tmp_path / "plain") == _losses(tmp_path / "fast") and len(_losses(tmp_path / "fast")) == 4
    assert list((tiny_dataset / "SynthTiny" / ".decoded").glob("*.npy"))


def test_a_run_with_persistent_workers_stops_when_cancelled(tiny_dataset, tmp_path) -> None:
    config = small_config(tiny_dataset, tmp_path, "train.epochs=5", "data.num_workers=1")
    result = Trainer(config, hooks=StopAfter(2)).run()
    assert result.status == "cancelled" and result.state.step == 2
