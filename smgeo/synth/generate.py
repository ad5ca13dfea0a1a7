"""Synthetic cross-view pairs: one scene, one satellite image and one drone query per target.

`render_scene_pairs(options, seed)` makes the pairs of one scene in memory; `smgeo.synth.dataset` writes many
scenes in the CVOGL layout. Everything comes from the seed: the same options and seed give the same pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from smgeo.synth.appearance import erode_mask
from smgeo.synth.camera import Camera, camera_looking_at
from smgeo.synth.drone import render_drone_view
from smgeo.synth.layout import generate_scene
from smgeo.synth.photometric import photometric_change
from smgeo.synth.scene import Scene, SceneLayers, SceneObject
from smgeo.synth.styles import STYLES, Style, StyleMix, parse_styles

FRAME_SIZE = 1024  # scene pixels across the satellite frame (the CVOGL box frame)
IMAGE_FORMATS = ("jpg", "png")
STYLE_STREAM = 0x57  # mixed into a scene's seed for its style's own random stream


@dataclass(frozen=True)
class SynthOptions:
    """How the pairs are made. Sizes in pixels; view_extent: frame pixels the query spans across at the target;
    pitch_deg: camera tilt from nadir; similarity: of look-alikes to their target, 0..1 (1: identical);
    photometric: strength of the drone's light/colour/blur/noise change, 0..1; placement: how far from the query's
    centre the target may appear, as a fraction of the side (0.5: anywhere); the click is a random point of the
    target's visible top, as a person's click lands anywhere on the object; style: the colours of ground, roads,
    roofs, walls and trees (smgeo.synth.styles; the layout is the same in every style): one name, several
    ("temperate,city": one drawn per scene) or "all-but:NAME" (every style but one); style_jitter: 0..1, each scene's
    colours shifted at random (domain randomisation)."""

    satellite_size: int = 1024
    query_size: int = 256
    targets_per_scene: int = 4
    distractors: int = 4
    similarity: float = 0.6
    pitch_deg: tuple[float, float] = (20.0, 55.0)
    view_extent: tuple[float, float] = (220.0, 460.0)
    fov_deg: tuple[float, float] = (50.0, 62.0)
    photometric: float = 0.5
    placement: float = 0.42
    image_format: str = "jpg"
    style: str = "temperate"
    style_jitter: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "similarity must be in [0, 1]": 0 <= self.similarity <= 1,
            "photometric must be in [0, 1]": 0 <= self.photometric <= 1,
            "placement must be in [0, 0.5]": 0 <= self.placement <= 0.5,
            "pitch range must satisfy 0 <= min <= max <= 70 degrees": 0 <= self.pitch_deg[0] <= self.pitch_deg[1] <= 70,
            "targets per scene must be >= 1": self.targets_per_scene >= 1,
            "distractors must be >= 0": self.distractors >= 0,
            "image sizes must be >= 32 pixels": min(self.satellite_size, self.query_size) >= 32,
            f"image format must be one of {IMAGE_FORMATS}": self.image_format in IMAGE_FORMATS,
        }
        try:
            self.style_mix()
        except ValueError as exc:
            checks[str(exc)] = False
        problems = [message for message, ok in checks.items() if not ok]
        if problems:
            raise ValueError("; ".join(problems))

    def style_mix(self) -> StyleMix:
        return StyleMix(parse_styles(self.style), self.style_jitter)


DIFFICULTIES: dict[str, dict] = {
    "easy": {"distractors": 2, "similarity": 0.3, "pitch_deg": (10.0, 35.0), "photometric": 0.25},
    "default": {},
    "hard": {"distractors": 6, "similarity": 0.85, "pitch_deg": (30.0, 60.0), "photometric": 0.8},
}


def synth_options(difficulty: str = "default", **overrides: object) -> SynthOptions:
    """The options of a difficulty preset with `overrides` (fields of SynthOptions; None values are ignored)."""
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"unknown difficulty {difficulty!r}; choose one of {sorted(DIFFICULTIES)}")
    changes = {key: value for key, value in overrides.items() if value is not None}
    return replace(SynthOptions(**DIFFICULTIES[difficulty]), **changes)


@dataclass(eq=False)
class SynthPair:
    """query: (S, S, 3) uint8; click: (x, y) query pixels (x = column) on the target's top surface; box: (x1, y1,
    x2, y2) of the target in the frame (FRAME_SIZE pixels); camera: the drone's pose in frame pixels; visible:
    the target is what the query shows at the click (false only when every pose tried had it hidden)."""

    query: np.ndarray
    click: tuple[float, float]
    box: tuple[float, float, float, float]
    category: str
    target_id: int
    camera: Camera
    visible: bool


@dataclass(eq=False)
class ScenePairs:
    """One scene, its satellite image (satellite_size², uint8) and one pair per target."""

    scene: Scene
    satellite: np.ndarray
    pairs: list[SynthPair] = field(default_factory=list)


def random_camera(target: SceneObject, options: SynthOptions, rng: np.random.Generator) -> Camera:
    """A drone pose that sees the target's top centre at a random pixel within `options.placement` of the middle."""
    size = options.query_size
    heading, pitch, fov = rng.uniform(0, 360), rng.uniform(*options.pitch_deg), rng.uniform(*options.fov_deg)
    x1, y1, x2, y2 = target.box
    extent = max(rng.uniform(*options.view_extent), 2.5 * max(x2 - x1, y2 - y1))
    distance = extent / 2 / math.tan(math.radians(fov) / 2)  # the query spans about `extent` at the target
    pixel = tuple((size - 1) / 2 + rng.uniform(-options.placement, options.placement, 2) * size)
    return camera_looking_at(target.top_anchor, pixel, (size, size), heading, pitch, distance, fov)


def random_click(mask: np.ndarray, rng: np.random.Generator, margin: int = 2) -> tuple[float, float]:
    """A uniformly random pixel (x, y) of `mask` (H, W) bool, preferring pixels at least `margin` pixels inside it
    (an edge pixel is ambiguous once the photo is blurred)."""
    inner = erode_mask(mask, margin)
    rows, columns = np.nonzero(inner if inner.any() else mask)
    pick = rng.integers(len(rows))
    return float(columns[pick]), float(rows[pick])


def render_pair(
    layers: SceneLayers, target: SceneObject, options: SynthOptions, rng: np.random.Generator, tries: int = 8
) -> SynthPair:
    """A drone query of `target`: re-posed (up to `tries` times) until nothing hides it at the click."""
    size = options.query_size
    for _ in range(tries):
        camera = random_camera(target, options, rng)
        view = render_drone_view(layers, camera, (size, size))
        click = view.projector.project(np.array([target.top_anchor]))[0]
        column, row = np.clip(np.rint(click), 0, size - 1).astype(int)
        visible = bool(view.object_ids[row, column] == target.object_id)
        if visible:
            break
    query = photometric_change(view.image, rng, options.photometric, view.depth)
    click_xy = random_click(view.object_ids == target.object_id, rng) if visible else (float(click[0]), float(click[1]))
    return SynthPair(query, click_xy, target.box, target.category, target.object_id, camera, visible)


def scene_style(mix: StyleMix, seed: int | np.random.SeedSequence) -> Style:
    """The style of the scene `seed`: drawn from its own stream, so the layout is the same whatever the style."""
    if len(mix.names) == 1 and mix.jitter == 0:
        return STYLES[mix.names[0]]
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return mix.draw(np.random.default_rng([*sequence.generate_state(2).tolist(), STYLE_STREAM]))


def render_scene_pairs(options: SynthOptions, seed: int | np.random.SeedSequence) -> ScenePairs:
    """Generate one scene from `seed`, its satellite image and one drone query per target."""
    rng = np.random.default_rng(seed)
    style = scene_style(options.style_mix(), seed)
    scene = generate_scene(
        rng, FRAME_SIZE, options.targets_per_scene, options.distractors, options.similarity, style=style
    )
    layers = scene.render(options.satellite_size / FRAME_SIZE)
    result = ScenePairs(scene, layers.nadir())
    for target in (obj for obj in scene.objects if obj.role == "target"):
        result.pairs.append(render_pair(layers, target, options, rng))
    return result
