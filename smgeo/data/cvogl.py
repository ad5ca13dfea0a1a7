"""The CVOGL dataset layout: read and write its `.pth` split files and serve its samples.

```
<data_root>/<data_name>/<data_name>_{train,val,test}.pth
<data_root>/<data_name>/query/<files>      <data_root>/<data_name>/satellite/<files>
```
Each `.pth` is a list of 8-field records: [0] sample id, [1] query file, [2] satellite file, [3] an unused
2-vector, [4] click (x, y) in query pixels (x = column), [5] box (x1, y1, x2, y2) in the satellite frame
(1024 px), [6] a 4-corner polygon (unused), [7] category.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import random
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from smgeo.data.images import DecodeCache, open_rgb

SPLITS = ("train", "val", "test")
FRAME_SIZE = 1024
JPEG_QUALITY = 95

Transform = Callable[[dict[str, Any], random.Random], dict[str, Any]]


class CVOGLFormatError(ValueError):
    """A `.pth` record (or an item to write) that does not follow the CVOGL format."""


@dataclass(frozen=True)
class CVOGLRecord:
    """One query/satellite pair. click: (x, y) query pixels, x = column; box: (x1, y1, x2, y2) frame pixels."""

    sample_id: Any
    query_file: str
    satellite_file: str
    unknown: Any
    click: tuple[float, float]
    box: tuple[float, float, float, float]
    polygon: Any
    category: str


@dataclass(frozen=True)
class CVOGLItem:
    """One pair to write. An image of None means its file is already written (e.g. a satellite shared by pairs).

    polygon: 4 (x, y) corners in the frame; None gives the box corners.
    """

    sample_id: Any
    query_file: str
    query_image: Image.Image | None
    satellite_file: str
    satellite_image: Image.Image | None
    click: tuple[float, float]
    box: tuple[float, float, float, float]
    category: str
    polygon: Any = None


def split_path(data_root: str | Path, data_name: str, split: str) -> Path:
    """`<data_root>/<data_name>/<data_name>_<split>.pth`; ValueError for a split other than train/val/test."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    return Path(data_root) / data_name / f"{data_name}_{split}.pth"


# ----------------------------------------------------------------------------------------------- reading
def _plain(value: Any) -> Any:
    """numpy / torch values -> plain Python (lists, floats, ints, strings)."""
    if isinstance(value, np.ndarray | torch.Tensor):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _numpy_globals() -> list[Any]:
    """The numpy globals a pickled array or scalar needs, under their numpy 2 and numpy 1 names."""
    reconstruct, scalar = np._core.multiarray._reconstruct, np._core.multiarray.scalar
    dtypes = [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith("DType")]
    aliases = [(reconstruct, "numpy.core.multiarray._reconstruct"), (scalar, "numpy.core.multiarray.scalar")]
    return [reconstruct, scalar, np.ndarray, np.dtype, *dtypes, *aliases]


def _load_pth(path: Path) -> Any:
    """`torch.load(weights_only=True)`; numpy arrays/scalars inside records are allowed, nothing else."""
    try:
        return torch.load(path, weights_only=True)
    except pickle.UnpicklingError as error:
        if "numpy" not in str(error):
            raise
    with torch.serialization.safe_globals(_numpy_globals()):
        return torch.load(path, weights_only=True)


def _finite_numbers(value: Any, count: int) -> tuple[float, ...] | None:
    """`value` as `count` finite floats, or None when it is not that."""
    if not isinstance(value, list | tuple) or len(value) != count:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    return tuple(float(v) for v in value)


def _check_fields(query_file: Any, satellite_file: Any, click: Any, box: Any) -> str | None:
    """What is wrong with these fields (plain Python), or None."""
    if not isinstance(query_file, str) or not isinstance(satellite_file, str) or not query_file or not satellite_file:
        return f"file names must be non-empty strings, got {query_file!r} and {satellite_file!r}"
    if _finite_numbers(click, 2) is None:
        return f"click must be two finite numbers (x, y), got {click!r}"
    numbers = _finite_numbers(box, 4)
    if numbers is None:
        return f"box must be four finite numbers (x1, y1, x2, y2), got {box!r}"
    if numbers[2] <= numbers[0] or numbers[3] <= numbers[1]:
        return f"box needs x2 > x1 and y2 > y1, got {box!r}"
    return None


def parse_record(raw: Any, split: str, index: int) -> CVOGLRecord:
    """One raw `.pth` record -> a `CVOGLRecord` of plain Python values; CVOGLFormatError when malformed."""
    fields = _plain(raw) if isinstance(raw, list | tuple) else None
    if fields is None or len(fields) != 8:
        size = len(raw) if isinstance(raw, list | tuple) else type(raw).__name__
        raise CVOGLFormatError(f"{split} record {index}: expected 8 fields, got {size}")
    problem = _check_fields(fields[1], fields[2], fields[4], fields[5])
    if problem:
        raise CVOGLFormatError(f"{split} record {index}: {problem}")
    click, box = _finite_numbers(fields[4], 2), _finite_numbers(fields[5], 4)
    return CVOGLRecord(fields[0], fields[1], fields[2], fields[3], click, box, fields[6], str(fields[7]))  # type: ignore[arg-type]


def read_records(data_root: str | Path, data_name: str, split: str) -> list[CVOGLRecord]:
    """All records of one split, validated and converted to plain Python."""
    path = split_path(data_root, data_name, split)
    if not path.is_file():
        raise FileNotFoundError(
            f"CVOGL split file {path} not found. Some public CVOGL downloads lack the .pth split files "
            f"({data_name}_{{train,val,test}}.pth) and hold only the images: get them from the dataset authors."
        )
    raw = _load_pth(path)
    if not isinstance(raw, list | tuple):
        raise CVOGLFormatError(f"{path}: expected a list of records, got {type(raw).__name__}")
    return [parse_record(record, split, index) for index, record in enumerate(raw)]


# ----------------------------------------------------------------------------------------------- dataset
def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A stable 64-bit seed for one sample of one epoch (the same in every process and Python run)."""
    digest = hashlib.blake2b(f"{seed}:{epoch}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _image_size(image: Any) -> tuple[int, int]:
    """(width, height) of a PIL image or a (C, H, W) tensor."""
    return (image.shape[-1], image.shape[-2]) if isinstance(image, torch.Tensor) else image.size


class CVOGLDataset(Dataset):
    """The pairs of one split as sample dicts, optionally through a joint transform `t(sample, rng)`.

    A sample before the transform: "query" and "reference" RGB PIL images, "click" (x, y) in query pixels
    (x = column), "box" (x1, y1, x2, y2) in the satellite image's own pixels. Always added after it:
    - "index": the record index;
    - "frame_box": float32 (4,) the record's box in the `frame_size` frame, clamped to [0, frame_size - 1]
      (the evaluation ground truth);
    - "to_frame": float32 (4,) frame_size / the reference's output (width, height, width, height), so that for a
      resized but otherwise un-augmented sample, a box in model-input reference pixels times `to_frame` is in the
      frame (frame_box ≈ box * to_frame). The square frame spans the whole satellite image: on a non-square image
      x and y scale differently.
    The transform's rng is `random.Random(sample_seed(seed, epoch, index))`. The epoch comes with the key: a
    `(epoch, index)` pair (what `ShardedSampler(with_epoch=True)` yields, so DataLoader workers that persist across
    epochs still see each epoch's), or a plain index for the epoch last given to `set_epoch`.
    `decode_sides`: {"query": side, "satellite": side}, the smallest sides an image needs to be decoded at (the
    model input's, with some margin for crops); None decodes at full size. `cache_dir`: a folder for a
    `DecodeCache` of the decoded images (the same samples, decoded once); None decodes every time.
    """

    def __init__(
        self,
        data_root: str | Path,
        data_name: str,
        split: str,
        transform: Transform | None = None,
        seed: int = 0,
        frame_size: int = FRAME_SIZE,
        decode_sides: dict[str, int] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.root = Path(data_root) / data_name
        self.decode_sides = dict(decode_sides or {})
        self.cache = DecodeCache(cache_dir) if cache_dir is not None else None
        for folder in ("query", "satellite"):
            if not (self.root / folder).is_dir():
                raise FileNotFoundError(f"CVOGL image folder {self.root / folder} not found")
        self.records = read_records(data_root, data_name, split)
        self.split, self.transform, self.seed, self.frame_size, self.epoch = split, transform, seed, frame_size, 0

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _open(self, folder: str, name: str, index: int) -> Image.Image:
        path = self.root / folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{self.split} record {index}: {folder} image {path} not found")
        min_side = self.decode_sides.get(folder)
        return self.cache.open(path, min_side) if self.cache else open_rgb(path, min_side)

    def raw_sample(self, index: int) -> dict[str, Any]:
        """The untransformed sample: PIL images, click and box (in the satellite image's pixels) as tuples."""
        record = self.records[index]
        query = self._open("query", record.query_file, index)
        reference = self._open("satellite", record.satellite_file, index)
        sx, sy = reference.width / self.frame_size, reference.height / self.frame_size
        box = (record.box[0] * sx, record.box[1] * sy, record.box[2] * sx, record.box[3] * sy)
        return {"query": query, "reference": reference, "click": record.click, "box": box}

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        sample = self.raw_sample(index)
        if self.transform is not None:
            sample = self.transform(sample, random.Random(sample_seed(self.seed, epoch, index)))
        top = self.frame_size - 1
        frame_box = [min(max(v, 0.0), top) for v in self.records[index].box]
        sample["index"] = index
        sample["frame_box"] = torch.tensor(frame_box, dtype=torch.float32)
        width, height = _image_size(sample["reference"])
        fx, fy = self.frame_size / width, self.frame_size / height
        sample["to_frame"] = torch.tensor([fx, fy, fx, fy], dtype=torch.float32)
        return sample


# ----------------------------------------------------------------------------------------------- writing
def _check_item(item: CVOGLItem, split: str, index: int) -> None:
    problem = _check_fields(item.query_file, item.satellite_file, _plain(item.click), _plain(item.box))
    if problem:
        raise CVOGLFormatError(f"{split} item {index}: {problem}")


def _save_image(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.convert("RGB").save(path, quality=JPEG_QUALITY)
    else:
        image.save(path)


def write_images(data_root: str | Path, data_name: str, split: str, items: Sequence[CVOGLItem]) -> list[CVOGLItem]:
    """Validate every item, then write its images (PNG or JPEG by suffix, JPEG quality 95).

    Returns the items with their images set to None (written). Nothing is written when an item is malformed.
    """
    for index, item in enumerate(items):
        _check_item(item, split, index)
    root = Path(data_root) / data_name
    for item in items:
        if item.query_image is not None:
            _save_image(item.query_image, root / "query" / item.query_file)
        if item.satellite_image is not None:
            _save_image(item.satellite_image, root / "satellite" / item.satellite_file)
    return [replace(item, query_image=None, satellite_image=None) for item in items]


def written_item(record: CVOGLRecord) -> CVOGLItem:
    """A record as an item whose images are already written: to write a split again (cut, re-split, merged)."""
    return CVOGLItem(
        sample_id=record.sample_id, query_file=record.query_file, query_image=None,
        satellite_file=record.satellite_file, satellite_image=None, click=record.click, box=record.box,
        category=record.category, polygon=record.polygon,
    )  # fmt: skip


def _box_corners(box: Sequence[float]) -> list[list[float]]:
    x1, y1, x2, y2 = box
    return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]


def _record(item: CVOGLItem) -> list[Any]:
    """The plain-Python 8-field record of one item. Strings are interned: pickle writes a string shared by several
    records once, so equal records must share equal strings for the file's bytes not to depend on where the items
    were made (e.g. in worker processes)."""
    click, box = [float(v) for v in _plain(item.click)], [float(v) for v in _plain(item.box)]
    polygon = _plain(item.polygon) if item.polygon is not None else _box_corners(box)
    sample_id = sys.intern(item.sample_id) if isinstance(item.sample_id, str) else _plain(item.sample_id)
    files = sys.intern(item.query_file), sys.intern(item.satellite_file)
    return [sample_id, *files, [0.0, 0.0], click, box, polygon, sys.intern(str(item.category))]


def _check_written(root: Path, items: Sequence[CVOGLItem], split: str) -> None:
    for index, item in enumerate(items):
        for folder, name in (("query", item.query_file), ("satellite", item.satellite_file)):
            if not (root / folder / name).is_file():
                missing = root / folder / name
                raise FileNotFoundError(f"{split} item {index}: {folder} image {missing} was never written")


def write_split(data_root: str | Path, data_name: str, split: str, items: Sequence[CVOGLItem]) -> Path:
    """Write one split: the items' images, then the `.pth` list of records (atomically). Returns the `.pth` path."""
    path = split_path(data_root, data_name, split)
    written = write_images(data_root, data_name, split, items)
    _check_written(path.parent, written, split)
    records = [_record(item) for item in written]
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # saved in memory: torch names the archive after the file, and the temp name is random
    torch.save(records, buffer)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(buffer.getvalue())
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return path
