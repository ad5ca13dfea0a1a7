"""Per-process cache of opened basemap COGs, the rendering of one Web-Mercator tile from them, and a per-process
cache of the rendered tiles (a tile is immutable for a given COG, as its ETag says).

A COG is copied once from storage (filesystem or S3) into a local cache folder, named by its sha256 so processes
share the copy and a changed COG never reuses a stale one; its rio-tiler Reader stays open (at most MAX_OPEN per
process, least recently used closed first). A rasterio dataset is not thread-safe, so each Reader has a lock.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import rasterio
from django.conf import settings
from rasterio.errors import RasterioIOError
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from core.errors import Unavailable
from missions.models import Basemap
from missions.rasters import tile_indexes
from missions.storage_io import download_atomically

log = logging.getLogger(__name__)
MAX_OPEN = 16
DEFAULT_MAX_BYTES = 10 * 2**30
RENDERED_MAX_BYTES = 64 * 2**20  # rendered tiles kept in memory, per process


@dataclass
class OpenCog:
    reader: Reader
    indexes: tuple[int, ...]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        """Close the Reader and its dataset; safe from any thread (see `_open_dataset`)."""
        with self.lock:
            self.reader.close()
            self.reader.dataset.close()


_open: OrderedDict[str, OpenCog] = OrderedDict()
_guard = threading.Lock()
_rendered: OrderedDict[tuple[str, int, int, int], bytes | None] = OrderedDict()
_rendered_bytes = 0


def tile_png(basemap: Basemap, z: int, x: int, y: int) -> bytes | None:
    """`render_tile`, from memory when this process rendered the tile before (least recently used dropped first)."""
    global _rendered_bytes
    key = (basemap.cog_sha256, z, x, y)
    found, png = rendered_png(basemap, z, x, y)
    if found:
        return png
    png = render_tile(basemap, z, x, y)
    with _guard:
        if key not in _rendered:
            _rendered[key] = png
            _rendered_bytes += len(png or b"")
        while _rendered_bytes > RENDERED_MAX_BYTES:
            _, dropped = _rendered.popitem(last=False)
            _rendered_bytes -= len(dropped or b"")
    return png


def rendered_png(basemap: Basemap, z: int, x: int, y: int) -> tuple[bool, bytes | None]:
    """(True, the PNG or None for an empty tile) when this process rendered the tile before; (False, None) if not."""
    key = (basemap.cog_sha256, z, x, y)
    with _guard:
        if key not in _rendered:
            return False, None
        _rendered.move_to_end(key)
        return True, _rendered[key]


def render_tile(basemap: Basemap, z: int, x: int, y: int) -> bytes | None:
    """The PNG of tile z/x/y (256 px, transparent where the basemap has no data), or None when the tile holds
    no pixel of the basemap."""
    cog = open_cog(basemap)
    with cog.lock:
        try:
            image = cog.reader.tile(x, y, z, indexes=cog.indexes)
        except TileOutsideBounds:
            return None
        colormap = cog.reader.colormap or None
    if not image.mask.any():
        return None
    if basemap.render_range:
        image.rescale(in_range=[tuple(band) for band in basemap.render_range])
    return image.render(img_format="PNG", colormap=colormap if len(cog.indexes) == 1 else None)


def open_cog(basemap: Basemap) -> OpenCog:
    """The open Reader of the basemap's COG, opening (and copying locally) on first use."""
    key = basemap.cog_sha256
    with _guard:
        if key in _open:
            _open.move_to_end(key)
            return _open[key]
    cog = _open_reader(basemap)
    with _guard:
        if key in _open:  # another thread opened it meanwhile
            cog.close()
            return _open[key]
        _open[key] = cog
        while len(_open) > MAX_OPEN:
            _, oldest = _open.popitem(last=False)
            oldest.close()
    return cog


def clear() -> None:
    """Close every open Reader of this process and forget its rendered tiles (the local copies stay)."""
    global _rendered_bytes
    with _guard:
        _rendered.clear()
        _rendered_bytes = 0
        while _open:
            _, cog = _open.popitem()
            cog.close()


def _open_reader(basemap: Basemap) -> OpenCog:
    path = local_cog(basemap)
    try:
        dataset = _open_dataset(path)
    except RasterioIOError:  # the local copy vanished or is damaged: fetch it again once
        path.unlink(missing_ok=True)
        path = local_cog(basemap)
        dataset = _open_dataset(path)
    reader = Reader(str(path), dataset=dataset)
    return OpenCog(reader, tile_indexes(dataset))


def _open_dataset(path: Path) -> rasterio.DatasetReader:
    """Open a COG under a GDAL environment that ends here. Opened without one, a dataset enters its own
    thread-local environment and can then be closed only by the thread that opened it: the web server's
    threads and the LRU eviction close Readers other threads opened."""
    with rasterio.Env():
        return rasterio.open(path)


def cache_dir() -> Path:
    path = Path(getattr(settings, "TILE_CACHE_DIR", "") or Path(tempfile.gettempdir()) / "smgeo-cog-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_cog(basemap: Basemap) -> Path:
    """A local copy of the basemap's COG (copied from storage when missing, checked against its sha256)."""
    path = cache_dir() / f"{basemap.cog_sha256}.tif"
    if path.exists():
        os.utime(path)  # mark it recently used
        return path
    sha = download_atomically(basemap.cog_file, path)
    if sha != basemap.cog_sha256:
        path.unlink(missing_ok=True)
        raise Unavailable(f"basemap {basemap.pk}: its stored COG does not match its checksum; upload it again")
    _trim(path.parent, keep=path, max_bytes=getattr(settings, "TILE_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))
    return path


def _trim(directory: Path, keep: Path, max_bytes: int) -> None:
    """Remove the least recently used copies until the folder holds at most max_bytes (open Readers keep
    working: the files are only unlinked)."""
    entries = []
    for path in directory.glob("*.tif"):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        if path != keep:
            path.unlink(missing_ok=True)
            total -= size
