"""Scene layout: a few roads, the targets, their look-alikes, then background objects, none overlapping.

Targets are placed first, each followed by `distractors` look-alikes (same category, similar size and shape,
colour as close as `similarity` says; see `smgeo.synth.specs.lookalike`), then background buildings, pools,
courts, vehicles (on the roads) and trees fill the rest of the scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw

from smgeo.synth.scene import ObjectSpec as Spec
from smgeo.synth.scene import Road, Scene, SceneObject
from smgeo.synth.shapes import Footprint
from smgeo.synth.specs import TARGET_WEIGHTS, lookalike, random_spec
from smgeo.synth.styles import TEMPERATE, Style

# background objects in a 1024 × 1024 scene at density 1 (category, small, count)
BACKGROUND = (("building", False, 16), ("pool", False, 2), ("court", False, 1), ("vehicle", False, 3))
BACKGROUND += (("vehicle", True, 18), ("tree", True, 42))


SMALL = 40.0  # scene pixels: objects up to this size are placed by their bounding box alone


def _dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """(h, w) bool grown by `pixels` in every direction (a square structuring element)."""
    grown = mask.copy()
    for shift in range(1, pixels + 1):
        grown[shift:] |= mask[:-shift]
        grown[:-shift] |= mask[shift:]
    rows = grown.copy()
    for shift in range(1, pixels + 1):
        grown[:, shift:] |= rows[:, :-shift]
        grown[:, :-shift] |= rows[:, shift:]
    return grown


class Occupancy:
    """Which parts of the scene are taken, on a grid of `cell` scene pixels: by objects, and by roads."""

    def __init__(self, size: float, cell: int = 4) -> None:
        self.cell, self.side = cell, math.ceil(size / cell)
        self.objects = np.zeros((self.side, self.side), dtype=bool)
        self.roads = np.zeros((self.side, self.side), dtype=bool)

    def _cells(self, footprint: Footprint, margin: float) -> tuple[tuple[slice, slice], np.ndarray]:
        """(grid window, (h, w) bool): the cells the footprint (holes filled) grown by `margin` covers."""
        x1, y1, x2, y2 = footprint.bounds()
        grow = math.ceil(margin / self.cell)
        left, top = math.floor(x1 / self.cell) - grow, math.floor(y1 / self.cell) - grow
        right, bottom = math.ceil(x2 / self.cell) + grow + 1, math.ceil(y2 / self.cell) + grow + 1
        image = Image.new("L", (right - left, bottom - top), 0)
        for part in footprint.parts:
            ImageDraw.Draw(image).polygon([tuple(p) for p in (part / self.cell - (left, top)).tolist()], fill=255)
        cells = _dilate(np.asarray(image) > 0, grow)
        y1c, x1c = max(top, 0), max(left, 0)
        y2c, x2c = min(bottom, self.side), min(right, self.side)
        return (slice(y1c, y2c), slice(x1c, x2c)), cells[y1c - top : y2c - top, x1c - left : x2c - left]

    def free(self, footprint: Footprint, margin: float, on_road: bool = False) -> bool:
        """True when the footprint grown by `margin` scene pixels meets no object (and no road unless `on_road`)."""
        taken = self.objects if on_road else self.objects | self.roads
        x1, y1, x2, y2 = footprint.bounds()
        left, top = max(0, math.floor((x1 - margin) / self.cell)), max(0, math.floor((y1 - margin) / self.cell))
        right, bottom = math.ceil((x2 + margin) / self.cell) + 1, math.ceil((y2 + margin) / self.cell) + 1
        window = taken[top:bottom, left:right]
        if not window.any() or max(x2 - x1, y2 - y1) <= SMALL:  # free box, or small enough to judge by its box
            return not window.any()
        centre = taken[
            min(round((y1 + y2) / 2 / self.cell), self.side - 1), min(round((x1 + x2) / 2 / self.cell), self.side - 1)
        ]
        if centre:  # a quick rejection before drawing the outline
            return False
        window, cells = self._cells(footprint, margin)
        return not (taken[window] & cells).any()

    def take(self, footprint: Footprint) -> None:
        window, cells = self._cells(footprint, 0.0)
        self.objects[window] |= cells

    def add_roads(self, roads: list[Road]) -> None:
        image = Image.new("1", (self.side, self.side), 0)
        draw = ImageDraw.Draw(image)
        for road in roads:
            ends = [tuple(np.divide(road.start, self.cell)), tuple(np.divide(road.end, self.cell))]
            draw.line(ends, fill=1, width=math.ceil((road.width + 8) / self.cell))
        self.roads |= np.asarray(image, dtype=bool)


def random_roads(rng: np.random.Generator, size: float, angle: float) -> list[Road]:
    """Two to four straight roads across the scene, along `angle` and `angle` + 90° (degrees), well apart."""
    roads = []
    for base in (angle, angle + 90):
        offsets: list[float] = []
        for _ in range(rng.integers(1, 3)):
            offset = rng.uniform(-0.42, 0.42) * size
            if all(abs(offset - other) > 0.25 * size for other in offsets):
                offsets.append(offset)
        theta = math.radians(base)
        direction, normal = np.array([math.cos(theta), math.sin(theta)]), np.array([-math.sin(theta), math.cos(theta)])
        for offset in offsets:
            middle = np.full(2, size / 2) + normal * offset
            start, end = middle - direction * size, middle + direction * size
            width, dashed = rng.uniform(16, 30), bool(rng.random() < 0.6)
            roads.append(Road(tuple(start.tolist()), tuple(end.tolist()), width, dashed))
    return roads


def _inside(box: tuple[float, float, float, float], size: float, border: float) -> bool:
    return box[0] >= border and box[1] >= border and box[2] <= size - border and box[3] <= size - border


@dataclass
class _Builder:
    """Places objects one by one on free ground (vehicles: on a road's edge) and numbers them."""

    rng: np.random.Generator
    size: float
    roads: list[Road]
    occupancy: Occupancy
    objects: list[SceneObject] = field(default_factory=list)

    def _road_spot(self, spec: Spec) -> tuple[Spec, tuple[float, float]]:
        """A vehicle parked along a random road, facing along it."""
        road = self.roads[self.rng.integers(len(self.roads))]
        start, end = np.asarray(road.start), np.asarray(road.end)
        direction = (end - start) / np.linalg.norm(end - start)
        side = 1 if self.rng.random() < 0.5 else -1
        lateral = side * max(0.0, road.width / 2 - spec.width / 2 - 1.5)
        center = start + (end - start) * self.rng.uniform(0, 1) + np.array([-direction[1], direction[0]]) * lateral
        angle = math.degrees(math.atan2(direction[1], direction[0])) + (180 if side < 0 else 0)
        return replace(spec, angle_deg=angle), (float(center[0]), float(center[1]))

    def _spot(self, spec: Spec, border: float) -> tuple[Spec, tuple[float, float]]:
        if spec.category == "vehicle" and self.roads:
            return self._road_spot(spec)
        x, y = self.rng.uniform(border, self.size - border, 2)
        return spec, (float(x), float(y))

    def add(self, spec: Spec, margin: float, border: float = 8.0, take: bool = True, **kwargs) -> SceneObject | None:
        """Place `spec` at a random free spot (up to 40 tries); None when none was found."""
        on_road = spec.category == "vehicle"
        for _ in range(40):
            placed, center = self._spot(spec, border)
            candidate = SceneObject(len(self.objects), placed, center, **kwargs)
            footprint = candidate.footprint
            if _inside(footprint.bounds(), self.size, border) and self.occupancy.free(footprint, margin, on_road):
                if take:
                    self.occupancy.take(footprint)
                self.objects.append(candidate)
                return candidate
        return None


def _add_targets(builder: _Builder, count: int, angle: float, style: Style) -> list[SceneObject]:
    names, weights = list(TARGET_WEIGHTS), np.array(list(TARGET_WEIGHTS.values()))
    targets = []
    while len(targets) < count:
        category = str(builder.rng.choice(names, p=weights / weights.sum()))
        spec = random_spec(category, builder.rng, angle, style=style)
        target = builder.add(spec, margin=12, border=48, role="target")
        if target is not None:
            targets.append(target)
    return targets


def generate_scene(
    rng: np.random.Generator,
    size: float = 1024.0,
    targets: int = 4,
    distractors: int = 4,
    similarity: float = 0.6,
    density: float = 1.0,
    style: Style = TEMPERATE,
) -> Scene:
    """A random scene `size` scene pixels wide with `targets` objects (role "target") and, for each, up to
    `distractors` look-alikes (role "lookalike", twin_of = the target's id), then background objects, in the style's
    colours (the layout does not depend on the style)."""
    angle = rng.uniform(0, 90)
    occupancy = Occupancy(size)
    roads = random_roads(rng, size, angle)
    occupancy.add_roads(roads)
    builder = _Builder(rng, size, roads, occupancy)
    for target in _add_targets(builder, targets, angle, style):
        for _ in range(distractors):
            for _attempt in range(3):  # another variant when this one found no room
                twin = lookalike(target.spec, rng, similarity, style)
                if builder.add(twin, margin=8, border=16, role="lookalike", twin_of=target.object_id):
                    break
    area = density * (size / 1024.0) ** 2
    for category, small, count in BACKGROUND:
        for _ in range(round(count * area)):
            spec = random_spec(category, rng, angle, small, style)
            builder.add(spec, margin=2 if small else 6, take=category != "tree")
    sun, shadow, texture_seed = rng.uniform(0, 360), rng.uniform(0.35, 0.9), int(rng.integers(2**31))
    return Scene(size, tuple(builder.objects), tuple(roads), sun, shadow, texture_seed, style)
