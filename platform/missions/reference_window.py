"""The reference window: a square of a basemap as the model sees it. The only reader from a basemap to model
pixels, and the only mapping between basemap pixels and the model's frame, for localization, export and
fine-tuning alike (so a model is trained on the very pixels it is served).

A window is read at the CVOGL frame size (FRAME_SIZE squared, bilinear, black outside the basemap) with the
tiles' colours: the bands the tiles show, a palette applied, non-8-bit data stretched by the basemap's
`render_range` (the same 2–98 % range for every window). The model's own transform resizes that frame to its
input, in training and in serving alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from rasterio.enums import Resampling
from rasterio.windows import Window

from missions.models import Basemap
from missions.tile_cache import open_cog

FRAME_SIZE = 1024  # the CVOGL frame the model's data is given in (smgeo.data.cvogl.FRAME_SIZE; the platform never
# imports smgeo: tests/workers/test_reference_window.py checks the two agree)


@dataclass(frozen=True)
class ReferenceWindow:
    """The square [x0, y0, x0 + side, y0 + side] of a basemap (pixels; it may reach outside, padded black), seen
    as a `size` x `size` model frame."""

    x0: float
    y0: float
    side: float
    size: int = FRAME_SIZE

    @classmethod
    def of_square(cls, square: Sequence[float], size: int = FRAME_SIZE) -> ReferenceWindow:
        """From [x1, y1, x2, y2] (a square: x2 - x1 == y2 - y1)."""
        x1, y1, x2, y2 = (float(v) for v in square)
        if x2 <= x1 or abs((x2 - x1) - (y2 - y1)) > 1e-6 * max(1.0, x2 - x1):
            raise ValueError(f"a reference window must be a non-empty square, got {list(square)}")
        return cls(x1, y1, x2 - x1, size)

    @property
    def bounds(self) -> list[float]:
        """[x1, y1, x2, y2] in basemap pixels."""
        return [self.x0, self.y0, self.x0 + self.side, self.y0 + self.side]

    def to_frame(self, box: Sequence[float]) -> list[float]:
        """A box in basemap pixels -> in the frame's pixels."""
        scale = self.size / self.side
        x1, y1, x2, y2 = box
        return [(x1 - self.x0) * scale, (y1 - self.y0) * scale, (x2 - self.x0) * scale, (y2 - self.y0) * scale]

    def to_basemap(self, box: Sequence[float]) -> list[float]:
        """A box in the frame's pixels -> in basemap pixels."""
        scale = self.side / self.size
        x1, y1, x2, y2 = box
        return [self.x0 + x1 * scale, self.y0 + y1 * scale, self.x0 + x2 * scale, self.y0 + y2 * scale]

    def read(self, basemap: Basemap) -> Image.Image:
        """The window's pixels as the model sees them: an RGB image of `size` squared."""
        cog = open_cog(basemap)
        with cog.lock:
            pixels = cog.reader.dataset.read(
                list(cog.indexes),
                window=Window(self.x0, self.y0, self.side, self.side),
                out_shape=(len(cog.indexes), self.size, self.size),
                boundless=True,
                fill_value=0,
                resampling=Resampling.bilinear,
            )
            colormap = cog.reader.colormap or None
        return Image.fromarray(to_rgb(pixels, colormap, basemap.render_range), "RGB")


def to_rgb(pixels: np.ndarray, colormap: dict | None, render_range: list | None) -> np.ndarray:
    """(bands, H, W) raster values -> (H, W, 3) uint8 with the tiles' colours."""
    if len(pixels) == 1 and colormap:
        palette = np.zeros((256, 3), dtype=np.uint8)
        for value, rgba in colormap.items():
            if 0 <= value < 256:
                palette[value] = rgba[:3]
        return palette[pixels[0].clip(0, 255).astype(np.uint8)]
    if render_range:
        low = np.array([band[0] for band in render_range], dtype=np.float64)[:, None, None]
        high = np.array([band[1] for band in render_range], dtype=np.float64)[:, None, None]
        pixels = ((pixels - low) / np.maximum(high - low, 1e-9) * 255).clip(0, 255)
    pixels = pixels.astype(np.uint8)
    if len(pixels) == 1:
        pixels = np.repeat(pixels, 3, axis=0)
    return np.moveaxis(pixels, 0, -1)
