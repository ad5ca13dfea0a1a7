"""Object specs: random buildings, trees, vehicles, pools and courts from palettes, and look-alikes of a spec.

Sizes are scene pixels in the 1024-pixel satellite frame: most objects 40–200 px, trucks and buses 30–60 px long,
background cars and small trees smaller.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from smgeo.synth.scene import CATEGORIES
from smgeo.synth.scene import ObjectSpec as Spec
from smgeo.synth.styles import TEMPERATE, Style

VEHICLES = ((236, 236, 236), (32, 32, 36), (172, 32, 32), (42, 62, 142), (222, 192, 42), (152, 152, 158))
VEHICLES += ((42, 112, 62), (232, 122, 32))
POOLS = ((62, 172, 202), (40, 142, 192), (82, 192, 212), (52, 122, 172), (92, 202, 192))
COPINGS = ((226, 220, 206), (202, 196, 186), (182, 172, 152))
COURTS = ((62, 122, 82), (52, 92, 152), (172, 82, 56), (152, 62, 62), (92, 142, 72))
SURROUNDS = ((82, 142, 92), (62, 102, 162), (182, 102, 72), (122, 122, 122))
WINDOWS = (40, 46, 54)
TARGET_WEIGHTS = {"building": 0.4, "pool": 0.15, "court": 0.15, "vehicle": 0.15, "tree": 0.15}


def _pick(rng: np.random.Generator, palette: tuple, jitter: float = 10.0) -> tuple[int, int, int]:
    colour = np.asarray(palette[rng.integers(len(palette))], dtype=np.float64) + rng.uniform(-jitter, jitter, 3)
    return tuple(int(c) for c in np.clip(np.round(colour), 0, 255))


def _building(rng: np.random.Generator, angle: float, style: Style) -> Spec:
    shape = str(rng.choice(["rectangle", "l_shape", "courtyard"], p=[0.45, 0.3, 0.25]))
    if shape == "rectangle":
        length = rng.uniform(50, 170)
        width, detail = rng.uniform(40, min(length, 110)), 0.0
    elif shape == "l_shape":
        length, width = rng.uniform(70, 170), rng.uniform(60, 150)
        detail = rng.uniform(28, 0.5 * min(length, width))
    else:
        length, width, detail = rng.uniform(90, 180), rng.uniform(80, 170), rng.uniform(24, 40)
    seed, height = int(rng.integers(2**31)), rng.uniform(12, 55)
    roof, walls = _pick(rng, style.roofs), _pick(rng, style.facades)
    return Spec("building", shape, length, width, detail, angle, height, roof, walls, seed)


def _tree(rng: np.random.Generator, small: bool, style: Style) -> Spec:
    diameter = rng.uniform(14, 40) if small else rng.uniform(30, 56)
    height, seed = rng.uniform(14, 32), int(rng.integers(2**31))
    colour = _pick(rng, style.trees, 6)
    return Spec("tree", "blob", diameter, diameter, 0.0, 0.0, height, colour, colour, seed)


def _vehicle(rng: np.random.Generator, angle: float, small: bool) -> Spec:
    length, width = (rng.uniform(15, 20), rng.uniform(7.5, 9)) if small else (rng.uniform(30, 60), rng.uniform(10, 15))
    height, seed = rng.uniform(6, 11), int(rng.integers(2**31))
    return Spec("vehicle", "rounded", length, width, 2.0, angle, height, _pick(rng, VEHICLES, 6), WINDOWS, seed)


def _pool(rng: np.random.Generator, angle: float) -> Spec:
    shape = str(rng.choice(["rounded", "ellipse"]))
    length = rng.uniform(34, 90)
    width, detail, seed = rng.uniform(20, min(length, 50)), rng.uniform(3, 10), int(rng.integers(2**31))
    return Spec("pool", shape, length, width, detail, angle, 0.0, _pick(rng, POOLS, 8), _pick(rng, COPINGS, 6), seed)


def _court(rng: np.random.Generator, angle: float) -> Spec:
    length, width, seed = rng.uniform(75, 130), rng.uniform(42, 70), int(rng.integers(2**31))
    return Spec("court", "rectangle", length, width, 0.0, angle, 0.0, _pick(rng, COURTS), _pick(rng, SURROUNDS), seed)


def random_spec(
    category: str, rng: np.random.Generator, angle: float = 0.0, small: bool = False, style: Style = TEMPERATE
) -> Spec:
    """A random object of `category` aligned with `angle` (degrees), in the style's colours; `small`: background
    trees and cars."""
    jitter = rng.uniform(-8, 8)
    if category == "building":
        return _building(rng, angle + 90 * rng.integers(2) + jitter, style)
    if category == "tree":
        return _tree(rng, small, style)
    if category == "vehicle":
        return _vehicle(rng, angle, small)
    if category == "pool":
        return _pool(rng, angle + rng.uniform(0, 180))
    if category == "court":
        return _court(rng, angle + 90 * rng.integers(2) + jitter)
    raise ValueError(f"unknown category {category!r}; choose one of {CATEGORIES}")


def palettes(category: str, style: Style = TEMPERATE) -> tuple[tuple, tuple]:
    """(colour palette, accent palette) of a category in a style."""
    return {
        "building": (style.roofs, style.facades),
        "tree": (style.trees, style.trees),
        "vehicle": (VEHICLES, (WINDOWS,)),
        "pool": (POOLS, COPINGS),
        "court": (COURTS, SURROUNDS),
    }[category]


def _towards(colour: tuple[int, int, int], palette: tuple, rng: np.random.Generator, amount: float) -> tuple:
    """`colour` moved `amount` (0..1) of the way to another colour of the palette (not the one nearest to it)."""
    if amount <= 0:
        return colour
    distances = [float(np.linalg.norm(np.subtract(entry, colour))) for entry in palette]
    others = [entry for entry, distance in zip(palette, distances, strict=True) if distance > min(distances)]
    other = _pick(rng, tuple(others) or palette, 8)
    moved = np.asarray(colour, dtype=np.float64) + amount * (np.asarray(other) - np.asarray(colour))
    return tuple(int(c) for c in np.clip(np.round(moved), 0, 255))


def lookalike(spec: Spec, rng: np.random.Generator, similarity: float, style: Style = TEMPERATE) -> Spec:
    """A spec like `spec`: same category and shape; sizes, angle and colours moved (1 - similarity) of the way to
    another random object of its kind (in the style's colours). similarity = 1 gives an identical spec (only the
    surroundings differ)."""
    d = 1.0 - similarity
    scale = 1.0 + d * rng.uniform(-0.35, 0.35, 4)
    seed = spec.seed if similarity >= 1 else int(rng.integers(2**30)) * 2 + spec.seed % 2  # keeps the roof type
    length, width = spec.length * scale[0], spec.width * (scale[0] if spec.shape == "blob" else scale[1])
    colours, accents = palettes(spec.category, style)
    color = _towards(spec.color, colours, rng, d)
    accent = color if spec.category == "tree" else _towards(spec.accent, accents, rng, d)
    return replace(
        spec,
        length=length,
        width=width,
        detail=spec.detail * scale[2],
        angle_deg=spec.angle_deg + d * rng.uniform(-60, 60),
        height=spec.height * scale[3],
        color=color,
        accent=accent,
        seed=seed,
    )
