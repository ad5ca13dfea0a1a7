"""Render what a drone camera sees of a scene: warp the ground layer, then each elevated surface at its height.

The ground layer is warped with the z = 0 homography (beyond the scene's edge the bare ground is mirrored; far,
foreshortened ground fades to a shrunk copy against aliasing). Every sprite (roof, crown, vehicle) is warped with
the homography of its own height, so it shifts against its footprint; below it, each pixel's ray is followed down
to the sprite's base and shows the wall, darker near the ground, where it first enters the outline. Sprites are
drawn farthest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from smgeo.synth.camera import Camera, Projector
from smgeo.synth.scene import SceneLayers, Sprite

SKY = np.array([206, 214, 222], dtype=np.float32)
COARSE = 4  # how much the ground is shrunk for far, foreshortened views
FAR_GROUND = 2.0  # scene widths beyond the scene's edges that the coarse, mirrored ground reaches
MAX_WALL_SLICES = 24
WALL_STEP = 2.5  # image pixels of parallax between the heights at which walls are tested


@dataclass(eq=False)
class DroneView:
    """image: (H, W, 3) uint8; object_ids: (H, W) int32, the object seen at each pixel (-1: bare ground or sky);
    depth: (H, W) float32, distance from the camera to what each pixel sees, scene pixels (inf: sky)."""

    image: np.ndarray
    object_ids: np.ndarray
    depth: np.ndarray
    projector: Projector


def sample_bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """image (H, W, C) at pixel-index points x, y (N,), clamped to the border -> (N, C) float32."""
    height, width, channels = image.shape
    x = np.minimum(np.maximum(x, 0), width - 1).astype(np.float32)  # min/max: faster than np.clip on small arrays
    y = np.minimum(np.maximum(y, 0), height - 1).astype(np.float32)
    x0, y0 = np.minimum(x.astype(np.intp), width - 2), np.minimum(y.astype(np.intp), height - 2)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    flat, index = image.reshape(-1, channels), y0 * width + x0
    top = np.take(flat, index, axis=0) * (1 - fx) + np.take(flat, index + 1, axis=0) * fx
    bottom = np.take(flat, index + width, axis=0) * (1 - fx) + np.take(flat, index + width + 1, axis=0) * fx
    return top * (1 - fy) + bottom * fy


def _pixel_centres(left: int, top: int, right: int, bottom: int) -> np.ndarray:
    """(3, N) homogeneous centres of the image pixels in [left, right) × [top, bottom), row by row."""
    us, vs = np.meshgrid(np.arange(left, right) + 0.5, np.arange(top, bottom) + 0.5)
    return np.stack([us.ravel(), vs.ravel(), np.ones(us.size)])


def _ground_points(projector: Projector, z: float, pixels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scene (x, y) where the rays of `pixels` (3, N) (homogeneous image points) meet the plane at height z, and a
    mask of the rays that do meet it (in front of the camera)."""
    rays = np.linalg.inv(projector.homography(z)) @ pixels
    hits = rays[2] > 1e-12
    w = np.where(hits, rays[2], 1.0)
    return rays[0] / w, rays[1] / w, hits


def _footprint(x: np.ndarray, y: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(N,) how many layer pixels one image pixel spans (the larger of its two sides), from the ground points
    x, y (N,) hit by an image of `shape` (height, width), row by row."""
    dx_dv, dx_du = np.gradient(x.reshape(shape))
    dy_dv, dy_du = np.gradient(y.reshape(shape))
    return np.maximum(np.hypot(dx_du, dy_du), np.hypot(dx_dv, dy_dv)).ravel()


def _fine_ground(layers: SceneLayers) -> tuple[Image.Image, int]:
    """The ground layer in a mirrored border of the bare backdrop a quarter of the scene wide, as an RGB image,
    and the border's width in layer pixels; cached on the layers."""
    side = layers.ground.shape[0]
    pad = side // 4
    if "fine" not in layers.cache:
        backdrop = np.clip(layers.backdrop + 0.5, 0, 255).astype(np.uint8)
        canvas = np.pad(backdrop, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        canvas[pad : pad + side, pad : pad + side] = np.clip(layers.ground + 0.5, 0, 255).astype(np.uint8)
        layers.cache["fine"] = Image.fromarray(canvas)
    return layers.cache["fine"], pad


def _coarse_ground(layers: SceneLayers) -> tuple[Image.Image, int]:
    """The fine ground shrunk COARSE times and mirrored on out to FAR_GROUND scene widths beyond the scene's edges,
    and that border's width in (unshrunk) layer pixels; cached on the layers."""
    fine, fine_pad = _fine_ground(layers)
    grow = round(FAR_GROUND * layers.ground.shape[0] / COARSE) - fine_pad // COARSE
    if "coarse" not in layers.cache:
        small = np.asarray(fine.reduce(COARSE))
        layers.cache["coarse"] = Image.fromarray(np.pad(small, ((grow, grow), (grow, grow), (0, 0)), mode="reflect"))
    return layers.cache["coarse"], fine_pad + grow * COARSE


def _warp(image: Image.Image, to_image: np.ndarray, size: tuple[int, int], resample: int, fill: object) -> Image.Image:
    """`image` seen through `to_image` (3, 3): output continuous pixel (u, v, 1) -> input continuous pixel."""
    coefficients = (to_image / to_image[2, 2]).ravel()[:8]
    return image.transform(size, Image.PERSPECTIVE, tuple(coefficients), resample=resample, fillcolor=fill)


def _layer_from_image(projector: Projector, scale: float, offset: float = 0.0) -> np.ndarray:
    """(3, 3): output continuous pixel -> continuous pixel of a ground layer at `scale`, shifted by `offset`."""
    to_layer = np.array([[scale, 0.0, offset], [0.0, scale, offset], [0.0, 0.0, 1.0]])
    return to_layer @ np.linalg.inv(projector.homography(0.0))


def _distant_colour(layers: SceneLayers) -> np.ndarray:
    """(3,) the colour of ground too far to make out: the backdrop's mean colour, half lost in haze."""
    return 0.5 * layers.shrunk("backdrop", 64).mean(axis=(0, 1)) + 0.5 * SKY


def _reach(layers: SceneLayers, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How far scene points x, y lie from the scene's centre, in scene widths (0.5: on its edge), per axis max."""
    width = layers.ground.shape[0] / layers.scale
    return np.maximum(np.abs(x - width / 2), np.abs(y - width / 2)) / width


def _ground_colour(
    layers: SceneLayers, projector: Projector, x: np.ndarray, y: np.ndarray, far: np.ndarray
) -> np.ndarray:
    """(H, W, 3) float32: the ground seen at scene points x, y (H, W). It fades to its shrunk copy where `far`
    (H, W) → 1 and beyond the fine copy's border, then into the distant colour towards the coarse copy's end."""
    size, scale, side = (projector.width, projector.height), layers.scale, layers.ground.shape[0]
    (fine_image, fine_pad), (coarse_image, coarse_pad) = _fine_ground(layers), _coarse_ground(layers)
    distant = _distant_colour(layers)
    fine = _warp(fine_image, _layer_from_image(projector, scale, fine_pad), size, Image.BILINEAR, 0)
    to_coarse = _layer_from_image(projector, scale / COARSE, coarse_pad / COARSE)
    coarse = _warp(coarse_image, to_coarse, size, Image.BILINEAR, tuple(int(c) for c in distant))
    reach = _reach(layers, x, y)
    blend = np.where(reach < 0.5 + fine_pad / side, far, 1.0)[..., None]
    colour = np.asarray(fine, np.float32) * (1 - blend) + np.asarray(coarse, np.float32) * blend
    haze = np.clip((reach - 0.5 - 0.6 * FAR_GROUND) / (0.35 * FAR_GROUND), 0, 1)[..., None]
    return colour + (distant - colour) * haze


def _render_ground(layers: SceneLayers, projector: Projector) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) float32 colour, (H, W) int32 ids and (H, W) float32 depth of the ground (and sky)."""
    width, height, scale = projector.width, projector.height, layers.scale
    x, y, hits = _ground_points(projector, 0.0, _pixel_centres(0, 0, width, height))
    far = np.clip((_footprint(x * scale, y * scale, (height, width)) - 1.5) / 2.5, 0, 1).reshape(height, width)
    hits = hits.reshape(height, width)
    ground = _ground_colour(layers, projector, x.reshape(height, width), y.reshape(height, width), far)
    colour = np.where(hits[..., None], ground, SKY)
    to_layer = _layer_from_image(projector, scale)
    if "ids" not in layers.cache:
        layers.cache["ids"] = Image.fromarray(layers.ground_ids)
    ids = np.asarray(_warp(layers.cache["ids"], to_layer, (width, height), Image.NEAREST, -1))
    ids = np.where(hits, ids, -1).astype(np.int32)
    depth = np.where(
        hits.ravel(), np.linalg.norm(np.stack([x, y, np.zeros_like(x)], 1) - projector.center, axis=1), np.inf
    )
    return colour.astype(np.float32), ids, depth.reshape(height, width).astype(np.float32)


@dataclass(frozen=True, eq=False)
class _Visible:
    """A sprite in view. rect: (left, top, right, bottom) image pixels covering it from base to top; wall_samples:
    heights to test below its top (one per WALL_STEP image pixels of parallax); depth: of its base centre."""

    sprite: Sprite
    rect: tuple[int, ...]
    wall_samples: int
    depth: float


def _box_corners(sprites: list[Sprite], scale: float) -> np.ndarray:
    """(S, 8, 3) scene points: each sprite's layer box at its base height and at its top height."""
    boxes = np.array([[s.left, s.top, s.left + s.alpha.shape[1], s.top + s.alpha.shape[0]] for s in sprites]) / scale
    heights = np.array([[s.base_z, s.z] for s in sprites])
    corners = [(boxes[:, i], boxes[:, j], heights[:, k]) for i in (0, 2) for j in (1, 3) for k in (0, 1)]
    return np.stack([np.stack(corner, axis=1) for corner in corners], axis=1)


def _parallax(sprites: list[Sprite], projector: Projector) -> np.ndarray:
    """(S,) image pixels between each sprite's centre at its base height and at its top height."""
    base = np.array([[*s.center, s.base_z] for s in sprites])
    top = np.array([[*s.center, s.z] for s in sprites])
    return np.linalg.norm(projector.project(top) - projector.project(base), axis=1)


def _visible_sprites(layers: SceneLayers, projector: Projector) -> list[_Visible]:
    """The sprites whose boxes, from base to top, land in the image (entirely in front of the camera), far first."""
    sprites = layers.sprites
    if not sprites:
        return []
    corners = _box_corners(sprites, layers.scale).reshape(-1, 3)
    in_front = (projector.depth(corners) > 1e-6).reshape(-1, 8).all(axis=1)
    uv = projector.project(corners).reshape(-1, 8, 2) + 0.5
    low = np.maximum(np.floor(uv.min(axis=1)).astype(int), 0)
    high = np.minimum(np.ceil(uv.max(axis=1)).astype(int), [projector.width, projector.height])
    samples = np.minimum(MAX_WALL_SLICES, np.ceil(_parallax(sprites, projector) / WALL_STEP)).astype(int)
    depth = projector.depth(np.array([[*s.center, s.base_z] for s in sprites]))
    visible = [
        _Visible(sprites[n], (*low[n], *high[n]), int(samples[n]) if sprites[n].z > sprites[n].base_z else 0, depth[n])
        for n in np.nonzero(in_front & (high > low).all(axis=1))[0]
    ]
    return sorted(visible, key=lambda v: -v.depth)


def _sample_nearest(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """image (H, W) at the nearest pixels to x, y (any shape), clamped to the border."""
    height, width = image.shape
    rows = np.minimum(np.maximum(np.rint(y), 0), height - 1).astype(np.intp)
    return image[rows, np.minimum(np.maximum(np.rint(x), 0), width - 1).astype(np.intp)]


@dataclass(eq=False)
class _Canvas:
    """The view being drawn: colour (H, W, 3) float32, ids (H, W) int32, depth (H, W) float32."""

    colour: np.ndarray
    ids: np.ndarray
    depth: np.ndarray

    def paint(self, rect: tuple, pixels: np.ndarray, rgb: np.ndarray, opacity: np.ndarray) -> None:
        """Blend rgb (K, 3) with opacity (K,) over the pixels with flat indices `pixels` inside rect."""
        left, top, right, _ = rect
        rows, cols = top + pixels // (right - left), left + pixels % (right - left)
        a = opacity[:, None]
        self.colour[rows, cols] = self.colour[rows, cols] * (1 - a) + rgb * a

    def mark(self, rect: tuple, pixels: np.ndarray, object_id: int, depth: np.ndarray) -> None:
        left, top, right, _ = rect
        rows, cols = top + pixels // (right - left), left + pixels % (right - left)
        self.ids[rows, cols] = object_id
        self.depth[rows, cols] = depth


@dataclass(eq=False)
class _Hits:
    """Where the rays of some pixels (flat indices into a rect) meet a sprite. roof: (K,) top-surface coverage;
    walled: (K,) the ray enters the walls; fraction: (K,) how far down (0 = top, 1 = base) it first meets the
    outline; top_xy: (K, 2) scene points at the top height; points: (K, 3) where the ray stops."""

    pixels: np.ndarray
    roof: np.ndarray
    walled: np.ndarray
    fraction: np.ndarray
    top_xy: np.ndarray
    points: np.ndarray


def _first_wall_hit(
    sprite: Sprite, samples: int, scale: float, top: tuple, base: tuple, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For rays (N,) crossing the sprite's top height at `top` (x, y) and its base at `base` (x, y), scene pixels:
    (walled (N,) bool, fraction (N,) float32: how far down, 0 = top to 1 = base, the ray first enters the outline).
    Only the `candidates` (N,) rays are tested, at one height per image pixel of parallax."""
    walled, fraction = np.zeros(candidates.shape, dtype=bool), np.zeros(candidates.shape, dtype=np.float32)
    rays = np.nonzero(candidates)[0]
    if samples == 0 or rays.size == 0:
        return walled, fraction
    fractions = np.linspace(0.0, 1.0, samples + 1, dtype=np.float32)[1:, None]
    wall_x = top[0][rays] + (base[0] - top[0])[rays] * fractions
    wall_y = top[1][rays] + (base[1] - top[1])[rays] * fractions
    outline = _sample_nearest(sprite.alpha, wall_x * scale - 0.5 - sprite.left, wall_y * scale - 0.5 - sprite.top)
    inside = outline > 0.5
    walled[rays], fraction[rays] = inside.any(axis=0), fractions[inside.argmax(axis=0), 0]
    return walled, fraction


def _passes_over(sprite: Sprite, scale: float, top: tuple, base: tuple) -> np.ndarray:
    """(N,) bool: the rays whose path from `top` (x, y) to `base` (x, y), scene pixels, crosses the sprite's box
    (only they can meet its walls)."""
    x1, y1 = sprite.left / scale, sprite.top / scale
    x2, y2 = x1 + sprite.alpha.shape[1] / scale, y1 + sprite.alpha.shape[0] / scale
    near = (np.maximum(top[0], base[0]) >= x1) & (np.minimum(top[0], base[0]) <= x2)
    return near & (np.maximum(top[1], base[1]) >= y1) & (np.minimum(top[1], base[1]) <= y2)


def _trace(visible: _Visible, projector: Projector, scale: float) -> _Hits | None:
    """Follow each pixel's ray down from the sprite's height to its base: the top surface where the ray starts
    inside the outline, else the wall where it first enters it."""
    sprite, rect = visible.sprite, visible.rect
    centres = _pixel_centres(*rect)
    top_x, top_y, hits = _ground_points(projector, sprite.z, centres)
    base_x, base_y, _ = _ground_points(projector, sprite.base_z, centres)
    roof = sample_bilinear(sprite.alpha[..., None], top_x * scale - 0.5 - sprite.left, top_y * scale - 0.5 - sprite.top)
    roof = roof[:, 0] * hits
    candidates = hits & (roof <= 0.5) & _passes_over(sprite, scale, (top_x, top_y), (base_x, base_y))
    walled, fraction = _first_wall_hit(
        sprite, visible.wall_samples, scale, (top_x, top_y), (base_x, base_y), candidates
    )
    pixels = np.nonzero((roof > 0.004) | walled)[0]
    if pixels.size == 0:
        return None
    fraction = np.where(roof[pixels] > 0.5, 0.0, fraction[pixels])
    x = top_x[pixels] + (base_x - top_x)[pixels] * fraction
    y = top_y[pixels] + (base_y - top_y)[pixels] * fraction
    z = sprite.z + (sprite.base_z - sprite.z) * fraction
    top_xy = np.stack([top_x[pixels], top_y[pixels]], axis=1)
    return _Hits(pixels, roof[pixels], walled[pixels], fraction, top_xy, np.stack([x, y, z], axis=1))


def _draw_sprite(canvas: _Canvas, visible: _Visible, projector: Projector, scale: float) -> None:
    sprite, rect = visible.sprite, visible.rect
    hits = _trace(visible, projector, scale)
    if hits is None:
        return
    top = sample_bilinear(
        sprite.rgb, hits.top_xy[:, 0] * scale - 0.5 - sprite.left, hits.top_xy[:, 1] * scale - 0.5 - sprite.top
    )
    shade = (1.0 - 0.35 * hits.fraction)[:, None]  # walls darken towards the ground
    wall = np.asarray(sprite.wall_rgb, dtype=np.float32) * shade.astype(np.float32)
    a = hits.roof[:, None]
    colour = np.where(hits.walled[:, None], top * a + wall * (1 - a), top)
    canvas.paint(rect, hits.pixels, colour, np.where(hits.walled, 1.0, hits.roof))
    solid = hits.walled | (hits.roof > 0.5)
    depth = np.linalg.norm(hits.points[solid] - projector.center, axis=1).astype(np.float32)
    canvas.mark(rect, hits.pixels[solid], sprite.object_id, depth)


def render_drone_view(layers: SceneLayers, camera: Camera, size: tuple[int, int] = (256, 256)) -> DroneView:
    """What `camera` sees of the rendered scene, as a (height, width) = `size` image, with ids and depth."""
    projector = Projector(camera, size[1], size[0])
    canvas = _Canvas(*_render_ground(layers, projector))
    for visible in _visible_sprites(layers, projector):
        _draw_sprite(canvas, visible, projector, layers.scale)
    image = np.clip(canvas.colour + 0.5, 0, 255).astype(np.uint8)
    return DroneView(image, canvas.ids, canvas.depth, projector)
