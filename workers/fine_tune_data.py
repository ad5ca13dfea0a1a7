"""A fine-tune's data: its frozen labels split by drone image, written in CVOGL layout, and a checkpoint measured
on one split, label by label.

Splits follow the export's (workers.cvogl_labels.split_of, by drone image): its train share trains, its val share
picks the checkpoint, and its test share is the team's held-out set, never trained on nor used to pick: base and
new version are compared on it (registry.comparison). A drone image never moves out of the held-out set while at
least two others remain to train and pick on; with fewer, the run folds the held-out images in and says so.

When the worker has a copy of the base model's own data (settings.FINE_TUNE_BASE_DATA), a run can replay a share of
it in its train split (`Replay`), and every run measures what it forgot on a fixed slice of its val split
(`forgetting_check`).

Celery imports this module before Django is set up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smgeo.config import SMGeoConfig
from smgeo.data.cvogl import SPLITS, read_records, write_split
from smgeo.data.replay import Replay
from workers.cvogl_labels import split_of, write_pairs

if TYPE_CHECKING:
    from localization.models import Review

HELD_OUT = "test"  # the split name the held-out labels are written under


class SplitError(Exception):
    """Labels that cannot be split into train and val, with the reason."""


def fine_tune_splits(labels_per_image: Mapping[int, int]) -> dict[int, str]:
    """train, val or test (held out) for every drone image ({drone image id: its label count}), as the export splits
    them. When train or val would be empty, the drone image that costs the least moves over from the other: the
    one with the fewest labels to val, the one with the most to train."""
    if len(labels_per_image) < 2:
        raise SplitError(
            "fine-tuning needs labels on at least two drone images (one to train on, one to validate on); "
            "this run's labels all come from one drone image"
        )
    splits = {image: split_of(image) for image in labels_per_image}
    if sum(split != HELD_OUT for split in splits.values()) < 2:  # too few to train and pick without the held-out
        splits = {image: "val" if split == HELD_OUT else split for image, split in splits.items()}
    movable = sorted(image for image, split in splits.items() if split != HELD_OUT)
    for empty, pick in (("val", min), ("train", max)):
        if empty not in splits.values():
            splits[pick(movable, key=labels_per_image.__getitem__)] = empty
    return splits


def write_fine_tune_dataset(
    labels: list[Review],
    splits: Mapping[int, str],
    root: Path,
    name: str,
    query_size: tuple[int, int],
    on_progress: Callable[[int, int], None],
    replay: Replay | None = None,
    extent_m: float | None = None,
) -> dict[str, int]:
    """Write the labels under root/name/ in CVOGL layout once, in their final splits (`splits`: drone image id ->
    split): the export's pairs, at the base model's reference extent `extent_m` (the scale localization serves it),
    with `replay`'s share of base-data pairs added to train. Returns the pairs per split and the replayed ones
    ("replay")."""
    items, _ = write_pairs(labels, root, name, query_size, on_progress, extent_m, split_for=splits.__getitem__)
    replayed = replay.copy_into(root / name, len(items["train"])) if replay else []
    items["train"] += replayed
    for split in SPLITS:
        write_split(root, name, split, items[split])
    return {**{split: len(items[split]) for split in SPLITS}, "replay": len(replayed)}


def split_metrics(
    checkpoint: str | Path,
    config: SMGeoConfig,
    split: str,
    data: tuple[str | Path, str] | None = None,
    limit: int | None = None,
) -> tuple[dict[str, Any], dict[int, float]]:
    """A checkpoint's metrics on one split (of the written dataset, or of `data`: (root, name)), on its first `limit`
    pairs when given (a fixed slice), and the IoU of every pair ({sample id: IoU}), as smgeo's evaluate computes them
    but without DataLoader workers: a Celery pool process may not start any. CUDA when present. An empty split gives
    ({"n": 0}, {})."""
    from torch.utils.data import DataLoader, Subset

    from smgeo.data.cvogl import CVOGLDataset
    from smgeo.distributed import DistributedContext
    from smgeo.evaluation import evaluate
    from smgeo.predictor import Predictor

    root, name = data or (config.data.data_root, config.data.data_name)
    records = read_records(root, name, split)[:limit]
    if not records:
        return {"n": 0}, {}
    predictor = Predictor(checkpoint)
    frame_size = config.data.frame_size
    dataset = CVOGLDataset(root, name, split, predictor.transform, frame_size=frame_size)
    loader = DataLoader(Subset(dataset, range(len(records))), batch_size=config.train.batch_size, num_workers=0)
    context = DistributedContext(0, 1, 0, predictor.device)
    metrics, rows = evaluate(predictor.model, loader, context, frame_size=frame_size)
    return metrics, {records[row["index"]].sample_id: row["iou"] for row in rows}


def base_data() -> tuple[str, str] | None:
    """The base model's own data (settings.FINE_TUNE_BASE_DATA, "ROOT:NAME" of a CVOGL dataset) when this worker has
    a copy, else None."""
    from django.conf import settings

    text = getattr(settings, "FINE_TUNE_BASE_DATA", "") or ""
    root, sep, name = text.rpartition(":")
    if not sep or not root or not name or not (Path(root) / name).is_dir():
        return None
    return root, name


def forgetting_check(base_path: str, checkpoint: str | Path, config: SMGeoConfig) -> dict[str, Any]:
    """Base and new version on a fixed slice of the base model's own val data (settings.FINE_TUNE_BASE_DATA), so an
    admin sees what a fine-tune lost; says why when this worker has no copy of that data."""
    from django.conf import settings

    from registry.comparison import set_info

    data = base_data()
    if data is None:
        reason = "not measured: this worker has no copy of the base model's data (FINE_TUNE_BASE_DATA)"
        return {"measured": False, "summary": reason}
    limit = getattr(settings, "FINE_TUNE_BASE_SLICE", 200)
    before, ious = split_metrics(base_path, config, "val", data, limit)
    after, _ = split_metrics(checkpoint, config, "val", data, limit)
    if not ious:
        return {"measured": False, "summary": f"not measured: {data[1]} has no val pairs"}
    lost = before["acc@0.5"] - after["acc@0.5"]
    return {
        "measured": True, "set": set_info("base-val", f"{data[1]} val, its first {len(ious)} pairs", ious),
        "n": len(ious), "base": before, "new": after, "lost": lost,
        "summary": f"on the base model's own data acc@0.5 {before['acc@0.5']:.3f} -> {after['acc@0.5']:.3f} "
        f"(n = {len(ious)})",
    }  # fmt: skip
