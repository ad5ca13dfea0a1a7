"""A synthetic nadir scene: objects with footprints, heights and colours, roads and one sun; rendered to layers.

Scene coordinates are (x, y, z) scene pixels: x = column, y = row (down, "south"), z = height above the ground.
`Scene.render(scale)` gives `SceneLayers` at scale layer pixels per scene pixel: a ground layer (texture, roads,
pools, courts and every shadow) and one sprite per elevated top surface (roofs, tree crowns, vehicles). The
satellite image is `layers.nadir()`; a drone view warps the same layers (see `smgeo.synth.camera`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from smgeo.synth.appearance import Patch, paint, wall_color
from smgeo.synth.shapes import Footprint, make_footprint
from smgeo.synth.styles import TEMPERATE, Style
from smgeo.synth.texture import ground_texture, surface_grain

CATEGORIES = ("building", "tree", "vehicle", "pool", "court")
ELEVATED = ("building", "tree", "vehicle")
SHADOW_DARKNESS = np.array([0.52, 0.5, 0.44], dtype=np.float32)  # shadows are dimmer and slightly blue


@dataclass(frozen=True)
class ObjectSpec:
    """What an object looks like, wherever it stands. Lengths and heights in scene pixels, colours RGB 0..255.

    detail: the L arm, courtyard ring or corner radius; accent: the facade (buildings), coping (pools), surround
    (courts) or window (vehicles) colour; seed: fixes small details (roof units, crown wobble).
    """

    category: str
    shape: str
    length: float
    width: float
    detail: float
    angle_deg: float
    height: float
    color: tuple[int, int, int]
    accent: tuple[int, int, int]
    seed: int


@dataclass(frozen=True, eq=False)
class SceneObject:
    """A placed object. role: "target", "lookalike" (of object `twin_of`) or "background"."""

    object_id: int
    spec: ObjectSpec
    center: tuple[float, float]
    role: str = "background"
    twin_of: int | None = None

    @property
    def category(self) -> str:
        return self.spec.category

    @cached_property
    def footprint(self) -> Footprint:
        spec = self.spec
        shape = make_footprint(spec.shape, spec.length, spec.width, spec.detail, spec.seed)
        return shape.placed(self.center, spec.angle_deg)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x1, y1, x2, y2) scene pixels: the axis-aligned box of the top surface seen from nadir."""
        return self.footprint.bounds()

    @property
    def base_z(self) -> float:
        """Where the walls below the top surface start: tree crowns float above their trunks."""
        return 0.4 * self.spec.height if self.category == "tree" else 0.0

    @property
    def top_anchor(self) -> tuple[float, float, float]:
        """(x, y, z): a point on the object's top surface (a roof's centre, a crown's top): where a user clicks."""
        x, y = self.footprint.anchor
        return (x, y, self.spec.height)


@dataclass(frozen=True)
class Road:
    """A straight road from `start` to `end` (x, y scene pixels), `width` scene pixels wide."""

    start: tuple[float, float]
    end: tuple[float, float]
    width: float
    dashed: bool = True


@dataclass(eq=False)
class Sprite:
    """An elevated top surface. rgb: (h, w, 3) float32 0..255, alpha: (h, w) float32 0..1 with a zero border,
    (left, top): its layer pixel offset; z: the surface height and base_z: where its walls start (scene px)."""

    object_id: int
    left: int
    top: int
    rgb: np.ndarray
    alpha: np.ndarray
    z: float
    base_z: float
    wall_rgb: tuple[float, float, float]
    center: tuple[float, float]


@dataclass(eq=False)
class SceneLayers:
    """A scene rendered at `scale` layer pixels per scene pixel. ground: (H, W, 3) float32 RGB 0..255;
    ground_ids: (H, W) int32, the object id drawn at ground level or -1; backdrop: (H, W, 3) the bare ground
    (texture and roads, no objects or shadows), shown mirrored beyond the scene's edges; sprites: elevated
    surfaces; cache: derived arrays and images, made on demand (shrunk and mirrored copies for drone views)."""

    scale: float
    ground: np.ndarray
    ground_ids: np.ndarray
    backdrop: np.ndarray
    sprites: list[Sprite] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    def shrunk(self, name: str, factor: int = 4) -> np.ndarray:
        """`ground` or `backdrop` shrunk `factor` times (box filter), float32; computed once."""
        key = f"{name}/{factor}"
        if key not in self.cache:
            image = Image.fromarray(np.clip(getattr(self, name) + 0.5, 0, 255).astype(np.uint8))
            self.cache[key] = np.asarray(image.reduce(factor), dtype=np.float32)
        return self.cache[key]

    def nadir(self) -> np.ndarray:
        """The satellite image: (H, W, 3) uint8, every top surface seen from straight above."""
        image = self.ground.copy()
        for sprite in sorted(self.sprites, key=lambda s: s.z):
            blend_into(image, sprite.rgb, sprite.alpha, sprite.left, sprite.top)
        return np.clip(image + 0.5, 0, 255).astype(np.uint8)

    def nadir_ids(self) -> np.ndarray:
        """(H, W) int32: the object id seen from straight above at each pixel, -1 for bare ground."""
        ids = self.ground_ids.copy()
        for sprite in sorted(self.sprites, key=lambda s: s.z):
            mark_into(ids, sprite.alpha, sprite.left, sprite.top, sprite.object_id)
        return ids


def overlap(
    canvas_shape: tuple[int, ...], left: int, top: int, height: int, width: int
) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """(canvas window, patch window) where a height × width patch at (left, top) meets the canvas, or None."""
    y1, x1 = max(top, 0), max(left, 0)
    y2, x2 = min(top + height, canvas_shape[0]), min(left + width, canvas_shape[1])
    if y2 <= y1 or x2 <= x1:
        return None
    return (slice(y1, y2), slice(x1, x2)), (slice(y1 - top, y2 - top), slice(x1 - left, x2 - left))


def blend_into(canvas: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, left: int, top: int) -> None:
    """canvas (H, W, 3) float32 += (rgb - canvas) * alpha for a patch at (left, top), in place."""
    windows = overlap(canvas.shape, left, top, *alpha.shape)
    if windows:
        region, a = canvas[windows[0]], alpha[windows[1]][..., None]
        region += (rgb[windows[1]] - region) * a


def mark_into(ids: np.ndarray, alpha: np.ndarray, left: int, top: int, object_id: int) -> None:
    """ids (H, W) = object_id where the patch at (left, top) is more than half opaque, in place."""
    windows = overlap(ids.shape, left, top, *alpha.shape)
    if windows:
        ids[windows[0]][alpha[windows[1]] > 0.5] = object_id


@dataclass(frozen=True, eq=False)
class Scene:
    """A square scene `size` scene pixels wide. sun_azimuth_deg: the direction shadows fall, clockwise from
    north (up); shadow_length: shadow length per unit of height; texture_seed fixes the ground texture; style: the
    colours of ground and roads (the objects' own colours are in their specs)."""

    size: float
    objects: tuple[SceneObject, ...]
    roads: tuple[Road, ...]
    sun_azimuth_deg: float
    shadow_length: float
    texture_seed: int
    style: Style = TEMPERATE

    def shadow_vector(self, height: float) -> tuple[float, float]:
        """(dx, dy) scene pixels from a point at `height` to its shadow on the ground."""
        theta = math.radians(self.sun_azimuth_deg)
        return (math.sin(theta) * self.shadow_length * height, -math.cos(theta) * self.shadow_length * height)

    def render(self, scale: float = 1.0) -> SceneLayers:
        """The scene at `scale` layer pixels per scene pixel (1.0: one pixel per scene pixel)."""
        side = round(self.size * scale)
        rng = np.random.default_rng(self.texture_seed)
        ground = ground_texture(rng, side, self.size, self.style)
        _draw_roads(ground, self.roads, scale, rng, self.style.asphalt)
        layers = SceneLayers(scale, ground, np.full((side, side), -1, dtype=np.int32), ground.copy())
        patches = {obj.object_id: paint(obj, scale) for obj in self.objects}
        for obj in self.objects:
            if obj.category not in ELEVATED:
                _paste_ground(layers, obj.object_id, patches[obj.object_id])
        _cast_shadows(layers, self)
        layers.sprites = [_sprite(obj, patches[obj.object_id]) for obj in self.objects if obj.category in ELEVATED]
        return layers


def _draw_roads(
    ground: np.ndarray, roads: tuple[Road, ...], scale: float, rng: np.random.Generator, colour: tuple[int, ...]
) -> None:
    """Asphalt with light kerbs and dashed centre lines, drawn into `ground` (H, W, 3) in place."""
    side = ground.shape[0]
    mask, marks = Image.new("L", (side, side), 0), Image.new("L", (side, side), 0)
    draw, draw_marks = ImageDraw.Draw(mask), ImageDraw.Draw(marks)
    for road in roads:
        start, end = np.multiply(road.start, scale), np.multiply(road.end, scale)
        draw.line([tuple(start), tuple(end)], fill=140, width=max(1, round((road.width + 4) * scale)))
        draw.line([tuple(start), tuple(end)], fill=255, width=max(1, round(road.width * scale)))
        if road.dashed:
            _draw_dashes(draw_marks, start, end, scale)
    kerb = np.asarray(mask, dtype=np.uint8)
    edge, asphalt = kerb == 140, kerb == 255
    ground[edge] = ground[edge] * 0.3 + 170 * 0.7
    ground[asphalt] = np.asarray(colour, dtype=np.float32) * surface_grain(rng, (int(asphalt.sum()),), 0.04)
    ground[np.asarray(marks) > 0] = (225, 222, 200)


def _draw_dashes(draw: ImageDraw.ImageDraw, start: np.ndarray, end: np.ndarray, scale: float) -> None:
    length = float(np.hypot(*(end - start)))
    direction = (end - start) / max(length, 1e-6)
    period, dash = 30 * scale, 14 * scale
    for offset in np.arange(0.0, length, period):
        a, b = start + direction * offset, start + direction * min(offset + dash, length)
        draw.line([tuple(a), tuple(b)], fill=255, width=max(1, round(1.5 * scale)))


def _paste_ground(layers: SceneLayers, object_id: int, patch: Patch) -> None:
    left, top, rgb, alpha = patch
    blend_into(layers.ground, rgb, alpha, left, top)
    mark_into(layers.ground_ids, alpha, left, top, object_id)


def swept(polygon: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(M, 2) outline of a convex (or star-shaped) polygon (N, 2) moved along a segment from offset `start` to
    `end`: its side facing back along the move at `start`, its side facing forward at `end`."""
    move = end - start
    if np.hypot(*move) < 1e-6:
        return polygon + start
    across = polygon @ np.array([-move[1], move[0]])
    first, last, count = int(np.argmax(across)), int(np.argmin(across)), len(polygon)
    arc = polygon[np.arange(first, first + (last - first) % count + 1) % count]
    other = polygon[np.arange(last, last + (first - last) % count + 1) % count]
    if (arc @ move).mean() > (other @ move).mean():  # `arc` faces forward
        return np.concatenate([arc + end, other + start])
    return np.concatenate([arc + start, other + end])


def _polygon(draw: ImageDraw.ImageDraw, points: np.ndarray, scale: float, offset: tuple, fill: int) -> None:
    draw.polygon([tuple(p) for p in (points * scale - offset).tolist()], fill=fill)


def _lit_courtyard(shadow: Image.Image, hole: np.ndarray, vector: np.ndarray, scale: float) -> None:
    """Clear the part of a courtyard its walls do not shade: the hole shifted by the shadow vector, within the hole."""
    x1, y1 = np.floor(np.minimum(hole.min(0), (hole + vector).min(0)) * scale).astype(int)
    x2, y2 = np.ceil(np.maximum(hole.max(0), (hole + vector).max(0)) * scale).astype(int) + 1
    masks = []
    for points in (hole, hole + vector):
        local = Image.new("1", (x2 - x1, y2 - y1), 0)
        _polygon(ImageDraw.Draw(local), points, scale, (x1, y1), 1)
        masks.append(np.asarray(local))
    lit = Image.fromarray(masks[0] & masks[1])
    shadow.paste(0, (x1, y1, x2, y2), mask=lit)


def _cast_shadows(layers: SceneLayers, scene: Scene) -> None:
    """Darken the ground layer under every elevated object's shadow: each footprint part swept along the shadow
    vector from its base height to its top, minus the lit part of courtyards."""
    side = layers.ground.shape[0]
    shadow = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(shadow)
    for obj in (obj for obj in scene.objects if obj.category in ELEVATED):
        vector = np.asarray(scene.shadow_vector(obj.spec.height))
        start = obj.base_z / obj.spec.height
        for part in obj.footprint.parts:
            _polygon(draw, swept(part, start * vector, vector), layers.scale, (0, 0), 255)
        for hole in obj.footprint.holes:
            _lit_courtyard(shadow, hole, vector, layers.scale)
    mask = shadow.filter(ImageFilter.BoxBlur(max(1, round(layers.scale))))
    layers.ground *= 1.0 - SHADOW_DARKNESS * (np.asarray(mask, dtype=np.float32) / 255.0)[..., None]


def _sprite(obj: SceneObject, patch: Patch) -> Sprite:
    left, top, rgb, alpha = patch
    return Sprite(obj.object_id, left, top, rgb, alpha, obj.spec.height, obj.base_z, wall_color(obj.spec), obj.center)
