"""Replay: pairs of a base model's own train data mixed into a fine-tune's train split, so the fine-tune keeps what
the base knew (the platform's runs with `replay`, and the recipe's development design)."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from smgeo.data.cvogl import CVOGLItem, read_records, written_item

REPLAY_IDS = 10**9  # sample ids of replayed pairs (a label's sample id never gets there)


@dataclass(frozen=True)
class Replay:
    """`share` of a train split drawn from root/name's train split: a fixed draw (seeded) so a rerun replays the same
    pairs."""

    root: str
    name: str
    share: float
    seed: int

    def count(self, train_pairs: int) -> int:
        """Replayed pairs beside `train_pairs` labels: share of the result (at most the base data's train split)."""
        return round(self.share / (1 - self.share) * train_pairs)

    def copy_into(self, folder: Path, train_pairs: int) -> list[CVOGLItem]:
        """Copy the drawn pairs' images into `folder` (prefixed "replay_"); their items (sample ids from 10^9)."""
        records = read_records(self.root, self.name, "train")
        count = min(len(records), self.count(train_pairs))
        source = Path(self.root) / self.name
        items = []
        for index, record in enumerate(random.Random(self.seed).sample(records, count)):
            query, satellite = f"replay_{record.query_file}", f"replay_{record.satellite_file}"
            if not (folder / "query" / query).exists():  # a drone image shared by several drawn pairs
                shutil.copyfile(source / "query" / record.query_file, folder / "query" / query)
            shutil.copyfile(source / "satellite" / record.satellite_file, folder / "satellite" / satellite)
            item = replace(written_item(record), sample_id=REPLAY_IDS + index, query_file=query)
            items.append(replace(item, satellite_file=satellite))
        return items
