"""Write a synthetic dataset in the CVOGL layout: scenes split train/val/test, a manifest, optional workers.

```
<out>/<name>/<name>_{train,val,test}.pth   <out>/<name>/query/   <out>/<name>/satellite/   <out>/<name>/manifest.json
```
Scene `i` of a split is generated from SeedSequence(seed, spawn_key=(split number, i)) alone, so the files do not
depend on the number of workers or the order they finish in, and no scene is in two splits.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from smgeo import __version__
from smgeo.data.cvogl import SPLITS, CVOGLItem, split_path, write_images, write_split
from smgeo.synth.generate import FRAME_SIZE, SynthOptions, render_scene_pairs

VERSION = "smgeo-synth/2"  # 2: targets anywhere in the query, clicks anywhere on them


@dataclass(frozen=True)
class SceneJob:
    """Scene `index` of `split`, written under data_root/data_name; its pairs get ids first_id, first_id + 1, ..."""

    data_root: str
    data_name: str
    options: SynthOptions
    seed: int
    split: str
    index: int
    first_id: int


def scene_seed(seed: int, split: str, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(SPLITS.index(split), index))


def write_scene(job: SceneJob) -> list[CVOGLItem]:
    """Generate one scene, write its satellite image and queries; return its items (images already written)."""
    result = render_scene_pairs(job.options, scene_seed(job.seed, job.split, job.index))
    stem, suffix = f"{job.split}_{job.index:05d}", job.options.image_format
    satellite = Image.fromarray(result.satellite)
    items = [
        CVOGLItem(
            sample_id=job.first_id + number,
            query_file=f"{stem}_{number}.{suffix}",
            query_image=Image.fromarray(pair.query),
            satellite_file=f"{stem}.{suffix}",
            satellite_image=satellite if number == 0 else None,
            click=pair.click,
            box=pair.box,
            category=pair.category,
        )
        for number, pair in enumerate(result.pairs)
    ]
    return write_images(job.data_root, job.data_name, job.split, items)


def _outputs(data_root: str | Path, data_name: str) -> list[Path]:
    root = Path(data_root) / data_name
    paths = [root / "query", root / "satellite", root / "manifest.json"]
    return paths + [split_path(data_root, data_name, split) for split in SPLITS]


def _clear(data_root: str | Path, data_name: str, overwrite: bool) -> None:
    """Remove a previous dataset's files (only those), or refuse when `overwrite` is false."""
    existing = [path for path in _outputs(data_root, data_name) if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{Path(data_root) / data_name} already holds a dataset; pass overwrite (--overwrite)")
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _run(jobs: list[SceneJob], workers: int) -> Iterator[list[CVOGLItem]]:
    """Each job's items, in job order, from `workers` processes (1: this one)."""
    if workers <= 1:
        yield from map(write_scene, jobs)
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(write_scene, jobs, chunksize=1)


def _jobs(data_root: str, data_name: str, options: SynthOptions, seed: int, scenes: dict[str, int]) -> list[SceneJob]:
    jobs, next_id = [], 0
    for split in SPLITS:
        for index in range(scenes.get(split, 0)):
            jobs.append(SceneJob(data_root, data_name, options, seed, split, index, next_id))
            next_id += options.targets_per_scene
    return jobs


def _manifest(data_name: str, options: SynthOptions, seed: int, difficulty: str | None, items: dict) -> dict:
    return {
        "generator": VERSION,
        "smgeo_version": __version__,
        "data_name": data_name,
        "seed": seed,
        "difficulty": difficulty,
        "frame_size": FRAME_SIZE,
        "options": dataclasses.asdict(options),
        "scenes": {split: len({item.satellite_file for item in items[split]}) for split in SPLITS},
        "pairs": {split: len(items[split]) for split in SPLITS},
        "categories": {split: dict(sorted(Counter(i.category for i in items[split]).items())) for split in SPLITS},
    }


def generate_dataset(
    data_root: str | Path,
    data_name: str,
    options: SynthOptions,
    scenes: dict[str, int],
    seed: int = 0,
    workers: int = 1,
    difficulty: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Write `scenes[split]` scenes per split (train/val/test) under data_root/data_name; returns the manifest."""
    _clear(data_root, data_name, overwrite)
    jobs = _jobs(str(data_root), data_name, options, seed, scenes)
    items: dict[str, list[CVOGLItem]] = {split: [] for split in SPLITS}
    bar = tqdm(_run(jobs, workers), total=len(jobs), unit="scene", desc="smgeo synth", disable=not progress)
    for job, scene_items in zip(jobs, bar, strict=True):
        items[job.split].extend(scene_items)
    for split in SPLITS:
        write_split(data_root, data_name, split, items[split])
    manifest = _manifest(data_name, options, seed, difficulty, items)
    path = Path(data_root) / data_name / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
