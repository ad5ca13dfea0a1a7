"""Reading a sample's images at the size training needs: reduced-size decoding, and a disk cache of the result.

Training resizes 1,024 px satellites to a few hundred pixels, so a full decode is mostly wasted: `open_rgb` decodes
a JPEG at 1/2, 1/4 or 1/8 size (PIL's draft mode: the DCT does the downscaling, several times faster) and
box-reduces other formats. A small model (the `tiny` preset) steps fast enough that even that can hold it back,
so `DecodeCache` keeps what `open_rgb` returned as uncompressed `.npy` arrays: a later epoch reads raw pixels
instead of decoding, and a sample is the same, bit for bit, with or without the cache. An entry is named after the
source's path, size and modification time and the decode size: change an image, or the model's input size, and
the old entry is never read again. Entries are written atomically (a temporary file, then a rename), so loader
workers may share the folder; a folder that cannot be written leaves that image uncached and changes nothing else.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

FORMAT_VERSION = 1  # bump when what a cache entry holds changes


def open_rgb(path: Path, min_side: int | None = None) -> Image.Image:
    """An RGB image; with `min_side`, reduced by the largest whole factor that keeps both sides >= min_side (a JPEG
    by 1/2, 1/4 or 1/8 at most, decoded at that size; another format decoded, then box-reduced)."""
    with Image.open(path) as image:
        scale = max(1, min(image.width, image.height) // min_side) if min_side else 1
        if scale > 1 and image.format == "JPEG":
            image.draft("RGB", (-(-image.width // scale), -(-image.height // scale)))
            return image.convert("RGB")
        rgb = image.convert("RGB")
    return rgb.reduce(scale) if scale > 1 else rgb


class DecodeCache:
    """`open(path, min_side)` = `open_rgb(path, min_side)`, served from `folder` after the first time."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def entry(self, path: Path, min_side: int | None) -> Path:
        """The cache file of `path` decoded for `min_side`."""
        stat = path.stat()
        key = f"{FORMAT_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{min_side}"
        return self.folder / f"{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}.npy"

    def open(self, path: Path, min_side: int | None = None) -> Image.Image:
        entry = self.entry(path, min_side)
        try:
            return Image.fromarray(np.load(entry))
        except (OSError, ValueError):  # absent, or unreadable: decode again
            pass
        image = open_rgb(path, min_side)
        self._write(entry, np.asarray(image))
        return image

    def _write(self, entry: Path, pixels: np.ndarray) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=".", suffix=".npy", dir=self.folder)
        except OSError:
            return
        try:
            with os.fdopen(handle, "wb") as file:
                np.save(file, pixels)
            os.replace(temp, entry)
        except OSError:
            Path(temp).unlink(missing_ok=True)
