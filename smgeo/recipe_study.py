"""The fine-tune recipe's development design: candidates fine-tuned from one checkpoint on the first N labels of a
dataset's train split (the first of its val split decide), each measured on the whole test split beside the base,
label by label (`smgeo recipe`).

A study dataset is a view of a CVOGL dataset: DATA_NAME__<labels> beside it, with links to its image folders and
split files cut to the first pairs, so every candidate of one label count trains on the same pairs.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

from smgeo.data.cvogl import CVOGLRecord, read_records, write_split, written_item
from smgeo.data.replay import Replay
from smgeo.finetune import FineTuneRecipe

VAL_SHARE = 0.12  # of a label count: the val pairs a team's labels give (the platform splits 80/10/10 by photo)

# The recipe under study, written out (not FineTuneRecipe's defaults, which the study chose): each candidate changes
# some of it. "recipe" is FineTuneRecipe() as it is now (the ceiling and the other label counts run it), and
# "recipe_replay<share>" the same with that share of its train split replayed from the base model's data; "before"
# is the fine-tune as the platform ran it before (lr 2e-5 at batch 8, ten epochs, kept on val acc@0.5 after each
# epoch, the base never a candidate).
STUDIED = {"steps": 300, "lr": 1e-4, "views": "strong", "batch_size": 8, "eval_every_steps": 25,
           "select_metric": "mIoU", "frozen": ()}  # fmt: skip
CANDIDATES: dict[str, dict[str, Any]] = {
    "before": {"lr": 2e-5, "steps": 110, "eval_every_steps": 11, "views": "standard", "select_metric": "acc@0.5",
               "base_candidate": False},
    "strong_views": {},
    "standard_views": {"views": "standard"},
    "frozen_backbone": {"frozen": ("backbone",)},
    "lr2e-4": {"lr": 2e-4},
    "lr5e-5": {"lr": 5e-5},
    "steps150": {"steps": 150},
    "steps600": {"steps": 600},
    "standard_views_lr2e-4": {"views": "standard", "lr": 2e-4},
    "standard_views_steps600": {"views": "standard", "steps": 600},
    "recipe": {},
    "recipe_replay25": {"replay": 0.25},
    "recipe_replay50": {"replay": 0.5},
}  # fmt: skip


def study_dataset(
    root: str | Path, name: str, labels: int, val: int | None = None, replay: Replay | None = None
) -> str:
    """The name of a view of root/name with its first `labels` pairs split into train and val (VAL_SHARE, at least
    one) and its whole test split; made once. Val comes from the val split, topped up from the far end of the train
    split when the val split is short (a ceiling of many labels), never from the train pairs the view trains on.
    With `replay`, its share of base-data pairs joins the train split (their images copied into the view)."""
    val = val if val is not None else max(1, round(VAL_SHARE * labels))
    view = f"{name}__{labels}" + (f"__replay{round(100 * replay.share)}" if replay else "")
    folder, source = Path(root) / view, Path(root) / name
    if not (folder / f"{view}_test.pth").is_file():
        train, spare_val = read_records(root, name, "train"), read_records(root, name, "val")[:val]
        topped_up = train[len(train) - (val - len(spare_val)) :] if len(spare_val) < val else []
        records = {
            "train": train[: labels - val],
            "val": spare_val + topped_up,
            "test": read_records(root, name, "test"),
        }
        if len(records["train"]) < labels - val or len(train) < labels - len(spare_val):
            raise ValueError(f"{name} has {len(train)} train and {len(spare_val)} val pairs; the study needs {labels}")
        items = {split: [written_item(record) for record in rows] for split, rows in records.items()}
        folder.mkdir(parents=True, exist_ok=True)
        if replay:
            _link_images(source, folder, [record for rows in records.values() for record in rows])
            items["train"] += replay.copy_into(folder, len(items["train"]))
        else:
            for images in ("query", "satellite"):
                if not (folder / images).exists():
                    os.symlink((source / images).resolve(), folder / images)
        for split, rows in items.items():
            write_split(root, view, split, rows)
    return view


def _link_images(source: Path, folder: Path, records: list[CVOGLRecord]) -> None:
    """Links in folder/query and folder/satellite to the records' images in source (the view holds other files too)."""
    for images, attribute in (("query", "query_file"), ("satellite", "satellite_file")):
        (folder / images).mkdir(parents=True, exist_ok=True)
        for file in {getattr(record, attribute) for record in records}:
            if not (folder / images / file).exists():
                os.symlink((source / images / file).resolve(), folder / images / file)


def candidate_recipe(name: str, seed: int = 0) -> tuple[FineTuneRecipe, bool]:
    """The recipe of a candidate and whether the base is a candidate too (its replay share: `replay_share`)."""
    fields = dict(CANDIDATES[name])
    base_candidate = fields.pop("base_candidate", True)
    fields.pop("replay", None)
    studied = {} if name.startswith("recipe") else STUDIED
    return dataclasses.replace(FineTuneRecipe(), seed=seed, **{**studied, **fields}), base_candidate


def replay_share(name: str) -> float:
    """The share of a candidate's train split replayed from the base model's data (0: none)."""
    return float(CANDIDATES[name].get("replay", 0.0))


def paired(base: dict[Any, float], new: dict[Any, float], hit: float = 0.5) -> dict[str, Any]:
    """Label-by-label change on the same test pairs: better / worse at IoU > hit, and the gain in acc."""
    ids = sorted(base)
    better = sum(new[i] > hit >= base[i] for i in ids)
    worse = sum(base[i] > hit >= new[i] for i in ids)
    return {"n": len(ids), "better": better, "worse": worse, "gain_acc@0.5": (better - worse) / max(1, len(ids))}


def run_candidate(
    init_from: str | Path, root: str | Path, view: str, name: str, out_dir: Path, seed: int, device: str | None
) -> dict[str, Any]:
    """Fine-tune one candidate on the study view; its recipe, what it kept, its val metrics and minutes."""
    from smgeo.config import merge
    from smgeo.finetune import finetune_config, result_of
    from smgeo.training import train

    recipe, base_candidate = candidate_recipe(name, seed)
    config = finetune_config(init_from, root, view, out_dir, recipe, loader_workers=1)
    if not base_candidate:
        config = merge(config, {"train": {"eval_initial": False}})
    started = time.monotonic()
    result = result_of(train(config, init_from=init_from, device=device), config)
    return {
        "recipe": {**dataclasses.asdict(recipe), "base_candidate": base_candidate},
        "kept": result.kept if base_candidate else "fine-tuned (the base was no candidate)",
        "summary": result.summary, "best_step": result.best_step, "steps": result.steps, "val": result.val,
        "minutes": round((time.monotonic() - started) / 60, 2), "checkpoint": str(result.model_checkpoint),
    }  # fmt: skip
