"""Reviewed labels as a CVOGL-layout dataset: the one writer the export and the fine-tune share.

Each label becomes one pair:
- query: the drone image resized to the model's query size (default 256 x 256), the click moved with it (pixel
  centres map to pixel centres, as smgeo's transforms do);
- reference: a square window of the basemap holding the label box, as many basemap pixels as localization hands the
  model (the ground the model's reference covers, `reference_extent_m` / the basemap's metres per pixel: the objects
  keep the scale they are served at; 1024 px without a ground resolution), at least 2.5 x the box's longer side,
  read as the model's frame by `missions.reference_window` (the very pixels localization hands the model) and the box
  given in that frame. The window is not centred exactly on the box: it is shifted by up to
  a quarter of its side (deterministically, from the review id) so that a model trained on these pairs cannot learn
  "the object is in the middle"; the box always lies wholly inside.
Images are written as PNG: a fine-tune trains on exactly the pixels the model is served. Pairs are split by drone
image (sha256 of its id: 80 % train, 10 % val, 10 % test), so that no drone image feeds two splits.

Celery imports this module before Django is set up: the platform is imported when a function runs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from smgeo.data.cvogl import FRAME_SIZE, SPLITS, CVOGLItem, write_images, write_split
from workers.search import window_side_px

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile

    from localization.models import Review
    from missions.reference_window import ReferenceWindow

DEFAULT_QUERY_SIZE = (256, 256)  # (height, width)
MAX_QUERY_SIDE = 2048  # the registry's bound on model.query_size (registry.checkpoints.SIZE_BOUNDS)
CONTEXT = 2.5  # the reference window's side, in multiples of the box's longer side (at least FRAME_SIZE px)
MAX_SHIFT = 0.25  # the window centre moves up to this fraction of its side away from the box centre


class ExportError(Exception):
    """Labels that cannot be written, with a reason the user can act on."""


# ------------------------------------------------------------------------------------------- geometry
def query_size_of(config: dict[str, Any] | None) -> tuple[int, int]:
    """(height, width) of the model's query input from a checkpoint config (`model.query_size`: [h, w] or n);
    ExportError for a size out of MAX_QUERY_SIDE (a version registered before the registry checked it)."""
    size = ((config or {}).get("model") or {}).get("query_size")
    sides = [size] if isinstance(size, int) else list(size) if isinstance(size, list | tuple) and len(size) == 2 else []
    if not sides or not all(isinstance(v, int) and v > 0 for v in sides):
        return DEFAULT_QUERY_SIZE
    if max(sides) > MAX_QUERY_SIDE:
        raise ExportError(f"the model's query size {size} is larger than {MAX_QUERY_SIDE} pixels; register a valid one")
    return (sides[0], sides[-1])


def split_of(drone_image_id: int) -> str:
    """train / val / test (about 80/10/10) from a hash of the drone image id: the same in every run."""
    bucket = int(hashlib.sha256(f"drone-image:{drone_image_id}".encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "val" if bucket < 90 else "test"


def _shift(key: str) -> tuple[float, float]:
    """Two numbers in [-1, 1] from a key, the same in every run."""
    digest = hashlib.sha256(key.encode()).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "big") / 0xFFFFFFFF * 2 - 1 for i in (0, 4))  # type: ignore[return-value]


def label_square(box: list[float], width: int, height: int, key: str, side_px: float = FRAME_SIZE) -> list[float]:
    """[x1, y1, x2, y2] basemap pixels: the square window of a label (see the module docstring).

    box: [x1, y1, x2, y2] basemap pixels; width/height: the basemap's size; side_px: the side localization's windows
    have on this basemap. The window stays inside the basemap when the basemap is large enough, else it covers all of
    it and is padded."""
    x1, y1, x2, y2 = box
    side = max(math.ceil(side_px), math.ceil(CONTEXT * max(x2 - x1, y2 - y1)))
    dx, dy = _shift(key)
    x0 = _inside(round((x1 + x2) / 2 + dx * MAX_SHIFT * side - side / 2), side, width)
    y0 = _inside(round((y1 + y2) / 2 + dy * MAX_SHIFT * side - side / 2), side, height)
    return [float(x0), float(y0), float(x0 + side), float(y0 + side)]


def _inside(start: int, side: int, extent: int) -> int:
    """A window start moved so the window covers as much of [0, extent) as it can: inside it when it fits, else
    over all of it (a box inside the basemap stays inside the window either way)."""
    low, high = sorted((0, extent - side))
    return min(max(start, low), high)


def scale_click(click: tuple[float, float], size: tuple[int, int], to: tuple[int, int]) -> tuple[float, float]:
    """A click (x, y) in an image of `size` (width, height) -> in the image resized to `to` (width, height)."""
    sx, sy = to[0] / size[0], to[1] / size[1]
    return ((click[0] + 0.5) * sx - 0.5, (click[1] + 0.5) * sy - 0.5)


def read_query(file: FieldFile, to: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """The drone image resized to `to` (width, height) as the model's transform resizes it, and its original
    (width, height)."""
    with file.open("rb") as handle, Image.open(handle) as image:
        return image.convert("RGB").resize(to, Image.BILINEAR), image.size


# ------------------------------------------------------------------------------------------- dataset
def write_dataset(
    labels: list[Review],
    root: Path,
    name: str,
    query_size: tuple[int, int],
    on_progress: Callable[[int, int], None],
    extent_m: float | None = None,
) -> list[dict[str, Any]]:
    """Write one pair per label (a Review annotated with `label_box`, its target, drone image and basemap joined)
    under root/name/ in CVOGL layout, split by drone image (split_of); returns the manifest entries, one per pair.
    extent_m: the ground the model's reference covers (reference_extent_m; None: the platform's
    LOCALIZE_REFERENCE_EXTENT_M)."""
    written, entries = write_pairs(labels, root, name, query_size, on_progress, extent_m)
    for split in SPLITS:
        write_split(root, name, split, written[split])
    return entries


def write_pairs(
    labels: list[Review],
    root: Path,
    name: str,
    query_size: tuple[int, int],
    on_progress: Callable[[int, int], None],
    extent_m: float | None = None,
    split_for: Callable[[int], str] = split_of,
) -> tuple[dict[str, list[CVOGLItem]], list[dict[str, Any]]]:
    """Write the images of one pair per label under root/name/ (see write_dataset), each drone image's pairs in the
    split `split_for(drone image id)` says; the written items per split (for write_split) and the manifest entries."""
    written: dict[str, list[CVOGLItem]] = {split: [] for split in SPLITS}
    entries, query, query_of = [], None, None
    labels = sorted(labels, key=lambda label: (label.target.drone_image_id, label.target_id))
    on_progress(0, len(labels))
    for done, label in enumerate(labels, start=1):
        target = label.target
        first = query_of != target.drone_image_id
        if first:
            query, query_of = read_query(target.drone_image.file, (query_size[1], query_size[0])), target.drone_image_id
        item, entry = _pair(label, query, first, extent_m)
        entry["split"] = split_for(target.drone_image_id)
        written[entry["split"]] += write_images(root, name, entry["split"], [item])
        entries.append(entry)
        on_progress(done, len(labels))
    return written, entries


def label_window(label: Review, extent_m: float | None = None) -> ReferenceWindow:
    """The reference window of one label (a Review annotated with `label_box`, its target and basemap joined), at the
    scale localization serves the model (extent_m: see write_dataset)."""
    from django.conf import settings

    from missions.reference_window import ReferenceWindow

    basemap = label.target.basemap
    if not basemap.cog_file or not basemap.width or not basemap.height:
        raise ExportError(f"basemap {basemap.name!r} has no COG yet (ingest status: {basemap.status})")
    box = [float(v) for v in label.label_box]
    side = window_side_px(extent_m or settings.LOCALIZE_REFERENCE_EXTENT_M, basemap.gsd_m, FRAME_SIZE)
    return ReferenceWindow.of_square(label_square(box, basemap.width, basemap.height, f"review:{label.id}", side))


def _pair(
    label: Review, query: tuple[Image.Image, tuple[int, int]], first: bool, extent_m: float | None
) -> tuple[CVOGLItem, dict[str, Any]]:
    """The CVOGL item of one label (its query image only on the first pair of its drone image), and its manifest
    entry."""
    from missions.georef import Georef

    target, box = label.target, [float(v) for v in label.label_box]
    image, original_size = query
    window = label_window(label, extent_m)
    item = CVOGLItem(
        sample_id=target.id, query_file=f"drone_{target.drone_image_id}.png", query_image=image if first else None,
        satellite_file=f"target_{target.id}.png", satellite_image=window.read(target.basemap),
        click=scale_click((target.click_x, target.click_y), original_size, image.size),
        box=tuple(window.to_frame(box)), category=target.label or "object",
    )  # fmt: skip
    entry = {
        "sample_id": target.id, "target_id": target.id,
        "review_id": label.id, "drone_image_id": target.drone_image_id, "basemap_id": target.basemap_id,
        "box_px": box, "reference_window_px": window.bounds,
        "reference_bounds_lonlat": Georef.of(target.basemap).bounds_lonlat(window.bounds),
    }  # fmt: skip
    return item, entry
