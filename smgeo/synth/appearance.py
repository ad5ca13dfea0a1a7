"""How each category's top surface looks from above: roofs, tree crowns, vehicles, pools and courts.

`paint(obj, scale)` rasterises an object's footprint into a small patch of the layer at `scale` layer pixels per
scene pixel and colours it from the object's spec. Everything random comes from the spec's seed, so two objects
with equal specs look the same.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from smgeo.synth.texture import surface_grain

if TYPE_CHECKING:
    from smgeo.synth.scene import ObjectSpec, SceneObject

PAD = 2  # zero-alpha border of every patch, layer pixels
ROOF_UNIT = np.array([205, 205, 200], dtype=np.float32)
COURT_LINE = np.array([238, 238, 232], dtype=np.float32)


class Surface(NamedTuple):
    """A patch being painted. lx, ly: (h, w) float32 scene pixels along the object's length and width axes from
    its centre; alpha: (h, w) coverage; scale: layer pixels per scene pixel; rng: seeded by the spec."""

    lx: np.ndarray
    ly: np.ndarray
    alpha: np.ndarray
    scale: float
    rng: np.random.Generator


class Patch(NamedTuple):
    """rgb: (h, w, 3) float32 0..255 and alpha: (h, w) float32 0..1 placed at layer pixel (left, top)."""

    left: int
    top: int
    rgb: np.ndarray
    alpha: np.ndarray


def _rasterize(obj: SceneObject, scale: float, left: int, top: int, size: tuple[int, int]) -> np.ndarray:
    """(h, w) float32 coverage of the footprint (parts minus holes), 2× supersampled."""
    width, height = size
    image = Image.new("L", (2 * width, 2 * height), 0)
    draw = ImageDraw.Draw(image)
    for fill, polygons in ((255, obj.footprint.parts), (0, obj.footprint.holes)):
        for polygon in polygons:
            points = (polygon * scale - (left, top)) * 2
            draw.polygon([tuple(p) for p in points.tolist()], fill=fill)
    return np.asarray(image.reduce(2), dtype=np.float32) / 255.0


def _local_coords(
    obj: SceneObject, scale: float, left: int, top: int, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(lx, ly): each patch pixel's position along the object's length and width axes, scene pixels."""
    width, height = size
    xs = (left + np.arange(width, dtype=np.float32) + 0.5) / scale - obj.center[0]
    ys = (top + np.arange(height, dtype=np.float32) + 0.5) / scale - obj.center[1]
    theta = math.radians(obj.spec.angle_deg)
    lx = xs[None, :] * math.cos(theta) + ys[:, None] * math.sin(theta)
    ly = -xs[None, :] * math.sin(theta) + ys[:, None] * math.cos(theta)
    return lx.astype(np.float32), ly.astype(np.float32)


def erode_mask(mask: np.ndarray, steps: int) -> np.ndarray:
    """(h, w) bool shrunk by `steps` pixels: a pixel stays when its 4 neighbours are set, `steps` times over."""
    for _ in range(steps):
        shrunk = mask.copy()
        shrunk[1:] &= mask[:-1]
        shrunk[:-1] &= mask[1:]
        shrunk[:, 1:] &= mask[:, :-1]
        shrunk[:, :-1] &= mask[:, 1:]
        mask = shrunk
    return mask


def _erode(alpha: np.ndarray, pixels: float) -> np.ndarray:
    """(h, w) bool: the footprint shrunk by about `pixels` layer pixels."""
    return erode_mask(alpha > 0.5, max(1, round(pixels)))


def _clumps(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """(h, w) float32 smooth noise in about [-1, 1]."""
    grid = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(grid).resize(shape[::-1], Image.BICUBIC), dtype=np.float32)


def _paint_building(spec: ObjectSpec, s: Surface) -> np.ndarray:
    rgb = np.asarray(spec.color, dtype=np.float32) * surface_grain(s.rng, s.alpha.shape, 0.025)
    if spec.shape == "rectangle" and spec.seed % 2 == 0:  # a gable roof: the far slope is in shade
        return rgb * np.where(s.ly > 0, 0.86, 1.0)[..., None]
    rgb = rgb * np.where(_erode(s.alpha, 1.5 * s.scale), 1.0, 0.8)[..., None]  # parapet rim
    for _ in range(s.rng.integers(0, 4)):  # rooftop units, kept off the centre line where the anchor is
        ux = s.rng.choice([-1, 1]) * s.rng.uniform(0.15, 0.35) * spec.length
        uy, half = s.rng.uniform(-0.2, 0.2) * spec.width, s.rng.uniform(2.0, 4.5)
        unit = (np.abs(s.lx - ux) < half) & (np.abs(s.ly - uy) < half)
        rgb[unit] = 0.4 * rgb[unit] + 0.6 * ROOF_UNIT
    return rgb


def _paint_tree(spec: ObjectSpec, s: Surface) -> np.ndarray:
    radius2 = (s.lx / (spec.length / 2)) ** 2 + (s.ly / (spec.width / 2)) ** 2
    shade = (1.08 - 0.3 * np.clip(radius2, 0, 1.2)) * (1.0 + 0.15 * _clumps(s.rng, s.alpha.shape, 5))
    return np.asarray(spec.color, dtype=np.float32) * shade[..., None] * surface_grain(s.rng, s.alpha.shape, 0.05)


def _paint_vehicle(spec: ObjectSpec, s: Surface) -> np.ndarray:
    rgb = np.broadcast_to(np.asarray(spec.color, dtype=np.float32), (*s.alpha.shape, 3)).copy()
    along = s.lx / spec.length
    rgb[((along > 0.14) & (along < 0.3)) | ((along > -0.42) & (along < -0.34))] = spec.accent  # wind screens
    rgb *= np.where(_erode(s.alpha, 0.8 * s.scale), 1.0, 0.75)[..., None]
    return rgb


def _paint_pool(spec: ObjectSpec, s: Surface) -> np.ndarray:
    water = np.asarray(spec.color, dtype=np.float32) * (1.0 + 0.06 * _clumps(s.rng, s.alpha.shape, 4))[..., None]
    inside = _erode(s.alpha, 2.5 * s.scale)
    return np.where(inside[..., None], water, np.asarray(spec.accent, dtype=np.float32))


def _court_lines(lx: np.ndarray, ly: np.ndarray, inner_x: float, inner_y: float, half: float) -> np.ndarray:
    """(h, w) bool: outline, two service lines and a centre circle of a court, lines `2 * half` wide."""
    ax, ay = np.abs(lx), np.abs(ly)
    outline = ((np.abs(ax - inner_x) < half) & (ay < inner_y + half)) | ((np.abs(ay - inner_y) < half) & (ax < inner_x))
    service = (np.abs(ax - 0.5 * inner_x) < half) & (ay < inner_y)
    circle = np.abs(np.hypot(lx, ly) - 0.5 * inner_y) < half  # clear of the centre, where users click
    return outline | service | circle


def _paint_court(spec: ObjectSpec, s: Surface) -> np.ndarray:
    inner_x, inner_y = 0.4 * spec.length, 0.36 * spec.width
    inside = (np.abs(s.lx) < inner_x) & (np.abs(s.ly) < inner_y)
    rgb = np.where(inside[..., None], np.float32(spec.color), np.float32(spec.accent))
    rgb = rgb * surface_grain(s.rng, s.alpha.shape, 0.02)
    rgb[_court_lines(s.lx, s.ly, inner_x, inner_y, max(0.8, 0.6 / s.scale))] = COURT_LINE
    return rgb


PAINTERS = {
    "building": _paint_building,
    "tree": _paint_tree,
    "vehicle": _paint_vehicle,
    "pool": _paint_pool,
    "court": _paint_court,
}


def paint(obj: SceneObject, scale: float) -> Patch:
    """The object's top surface as a patch of the layer at `scale` layer pixels per scene pixel."""
    x1, y1, x2, y2 = obj.footprint.bounds()
    left, top = math.floor(x1 * scale) - PAD, math.floor(y1 * scale) - PAD
    size = (math.ceil(x2 * scale) + PAD - left, math.ceil(y2 * scale) + PAD - top)
    alpha = _rasterize(obj, scale, left, top, size)
    lx, ly = _local_coords(obj, scale, left, top, size)
    surface = Surface(lx, ly, alpha, scale, np.random.default_rng(obj.spec.seed))
    rgb = PAINTERS[obj.category](obj.spec, surface)
    return Patch(left, top, np.clip(rgb, 0, 255).astype(np.float32), alpha)


def wall_color(spec: ObjectSpec) -> tuple[float, float, float]:
    """The colour of the walls under a top surface: facades for buildings, shaded crown or body otherwise."""
    base, factor = (spec.accent, 0.78) if spec.category == "building" else (spec.color, 0.6)
    return tuple(float(c) * factor for c in base)
