"""Footprint shapes in scene pixels: polygons around a centre, rotated, with a point on the top surface.

Coordinates are (x, y) scene pixels, x = column, y = row (down). A footprint is a union of parts minus holes.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

SHAPES = ("rectangle", "l_shape", "courtyard", "ellipse", "rounded", "blob")


@dataclass(frozen=True, eq=False)
class Footprint:
    """parts, holes: (N, 2) float64 polygons, scene pixels; anchor: (x, y), a point inside the footprint."""

    parts: tuple[np.ndarray, ...]
    holes: tuple[np.ndarray, ...]
    anchor: tuple[float, float]

    def bounds(self) -> tuple[float, float, float, float]:
        """(x1, y1, x2, y2): the axis-aligned box of the footprint, scene pixels."""
        points = np.concatenate(self.parts)
        return (*points.min(axis=0).tolist(), *points.max(axis=0).tolist())

    def placed(self, center: tuple[float, float], angle_deg: float) -> Footprint:
        """This footprint (given around (0, 0)) rotated by `angle_deg` (clockwise on screen) and moved to `center`."""
        theta = math.radians(angle_deg)
        rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        offset = np.asarray(center, dtype=np.float64)

        def move(points: np.ndarray) -> np.ndarray:
            return points @ rotation.T + offset

        anchor = move(np.asarray([self.anchor], dtype=np.float64))[0]
        return Footprint(tuple(map(move, self.parts)), tuple(map(move, self.holes)), (anchor[0], anchor[1]))


def _box(x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)


def rectangle(length: float, width: float) -> Footprint:
    """A `length` (along x) × `width` rectangle centred on (0, 0)."""
    return Footprint((_box(-length / 2, -width / 2, length / 2, width / 2),), (), (0.0, 0.0))


def l_shape(length: float, width: float, arm: float) -> Footprint:
    """An L in a length × width box: a bar `arm` deep along the top edge and a leg `arm` wide down the left edge."""
    x1, y1, x2, y2 = -length / 2, -width / 2, length / 2, width / 2
    bar, leg = _box(x1, y1, x2, y1 + arm), _box(x1, y1, x1 + arm, y2)
    return Footprint((bar, leg), (), ((x1 + x2) / 2, y1 + arm / 2))


def courtyard(length: float, width: float, ring: float) -> Footprint:
    """A block with a courtyard: a length × width rectangle minus an inner one `ring` in from every side."""
    outer = _box(-length / 2, -width / 2, length / 2, width / 2)
    inner = _box(-length / 2 + ring, -width / 2 + ring, length / 2 - ring, width / 2 - ring)
    return Footprint((outer,), (inner,), (0.0, -width / 2 + ring / 2))


def ellipse(length: float, width: float, points: int = 32) -> Footprint:
    angles = np.linspace(0.0, 2 * math.pi, points, endpoint=False)
    polygon = np.stack([np.cos(angles) * length / 2, np.sin(angles) * width / 2], axis=1)
    return Footprint((polygon,), (), (0.0, 0.0))


def rounded(length: float, width: float, radius: float, points_per_corner: int = 6) -> Footprint:
    """A rectangle with corners rounded by `radius` (clipped to half the short side)."""
    radius = min(radius, length / 2, width / 2)
    centers = [(length / 2 - radius, width / 2 - radius), (-length / 2 + radius, width / 2 - radius)]
    centers += [(-length / 2 + radius, -width / 2 + radius), (length / 2 - radius, -width / 2 + radius)]
    outline = []
    for corner, (cx, cy) in enumerate(centers):
        for angle in np.linspace(0.0, math.pi / 2, points_per_corner) + corner * math.pi / 2:
            outline.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return Footprint((np.array(outline, dtype=np.float64),), (), (0.0, 0.0))


def blob(radius: float, seed: int, roughness: float = 0.18, points: int = 20) -> Footprint:
    """An irregular round outline (a tree crown) whose wobble is fixed by `seed`."""
    rng = np.random.default_rng(seed)
    angles = np.linspace(0.0, 2 * math.pi, points, endpoint=False)
    bumps = np.convolve(np.tile(rng.uniform(-1, 1, points), 3), np.ones(3) / 3, "same")[points:-points]  # cyclic
    wobble = 1.0 + roughness * bumps
    polygon = np.stack([np.cos(angles), np.sin(angles)], axis=1) * (radius * wobble)[:, None]
    return Footprint((polygon,), (), (0.0, 0.0))


@functools.lru_cache(maxsize=4096)
def make_footprint(shape: str, length: float, width: float, detail: float, seed: int) -> Footprint:
    """A footprint by shape name, around (0, 0). detail: the L arm, the courtyard ring or the corner radius (scene
    pixels). Cached: an object is tried at many places before it fits, and look-alikes share shapes."""
    if shape == "rectangle":
        return rectangle(length, width)
    if shape == "l_shape":
        return l_shape(length, width, detail)
    if shape == "courtyard":
        return courtyard(length, width, detail)
    if shape == "ellipse":
        return ellipse(length, width)
    if shape == "rounded":
        return rounded(length, width, detail)
    if shape == "blob":
        return blob(length / 2, seed)
    raise ValueError(f"unknown shape {shape!r}; choose one of {SHAPES}")
