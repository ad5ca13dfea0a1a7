"""Procedural ground: smooth colour noise blending grass, dry grass, soil and pavement patches.

Noise is laid on a grid measured in scene pixels, so a scene rendered at any scale shows the same patches.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from smgeo.synth.styles import TEMPERATE, Style


def smooth_noise(rng: np.random.Generator, out_size: int, cells: int) -> np.ndarray:
    """(out_size, out_size) float32 noise, std ≈ 1, varying over about out_size / cells pixels (bicubic grid)."""
    grid = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    image = Image.fromarray(grid).resize((out_size, out_size), Image.BICUBIC)
    return np.asarray(image, dtype=np.float32)


def fractal_noise(rng: np.random.Generator, out_size: int, cells: int, octaves: int = 3) -> np.ndarray:
    """Sum of `octaves` smooth noises, each twice as fine and half as strong; std ≈ 1."""
    total = np.zeros((out_size, out_size), dtype=np.float32)
    norm = 0.0
    for octave in range(octaves):
        amplitude = 0.5**octave
        total += amplitude * smooth_noise(rng, out_size, cells * 2**octave)
        norm += amplitude**2
    return total / np.float32(np.sqrt(norm))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _upsample(image: np.ndarray, out_size: int) -> np.ndarray:
    """(h, w, 3) float32 0..255 -> (out_size, out_size, 3) float32, bilinear (through 8-bit RGB: fast)."""
    rgb = Image.fromarray(np.clip(image + 0.5, 0, 255).astype(np.uint8))
    return np.asarray(rgb.resize((out_size, out_size), Image.BILINEAR), dtype=np.float32)


def ground_texture(rng: np.random.Generator, out_size: int, scene_size: float, style: Style = TEMPERATE) -> np.ndarray:
    """(out_size, out_size, 3) float32 RGB in [0, 255] for a square scene `scene_size` pixels wide, in the style's
    ground colours.

    Patches are mixed at a quarter of the resolution and upsampled; only the grain is drawn per pixel.
    """
    low, cells = max(16, out_size // 4), max(2, round(scene_size / 160))
    dryness = _sigmoid(2.5 * fractal_noise(rng, low, cells))[..., None]
    soil = _sigmoid(5.0 * (fractal_noise(rng, low, cells) - 0.9))[..., None]
    pavement = _sigmoid(6.0 * (fractal_noise(rng, low, cells) - 1.2))[..., None]
    tint = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    grass, dry_grass, bare_soil, paving = (np.array(c, dtype=np.float32) for c in style.ground)
    colour = grass * (1 - dryness) + dry_grass * dryness
    colour = colour * (1 - soil) + bare_soil * soil
    colour = (colour * (1 - pavement) + paving * pavement) * tint
    colour *= (1.0 + 0.07 * fractal_noise(rng, low, cells * 8, octaves=2))[..., None]
    ground = _upsample(colour, out_size)
    ground *= surface_grain(rng, (out_size, out_size), 0.05)
    return np.minimum(ground, 255, out=ground)


def surface_grain(rng: np.random.Generator, shape: tuple[int, int], strength: float) -> np.ndarray:
    """(H, W, 1) float32 multiplicative grain around 1 with std `strength`: a surface's fine texture (uniform
    noise: several times faster to draw than Gaussian, and it looks the same)."""
    uniform = rng.random(shape, dtype=np.float32)
    return (1.0 + np.float32(strength * 2 * np.sqrt(3)) * (uniform - np.float32(0.5)))[..., None]
