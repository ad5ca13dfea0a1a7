"""The photometric gap between the satellite and the drone: light, colour temperature, gamma, haze, blur, noise.

`strength` in [0, 1] scales every change; 0 leaves the image untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

HAZE = np.array([0.80, 0.83, 0.87], dtype=np.float32)


@dataclass(frozen=True)
class Photometric:
    """brightness: gain (1 = none); temperature: -1 (cool, bluer) .. 1 (warm, redder); gamma: exponent on [0, 1]
    intensities; haze: blend towards a pale haze at infinite distance; visibility: scene pixels at which the haze
    reaches 63 % of `haze`; blur: Gaussian radius, pixels; noise: sensor noise std, 0..255 units; seed: of the noise."""

    brightness: float = 1.0
    temperature: float = 0.0
    gamma: float = 1.0
    haze: float = 0.0
    visibility: float = 1500.0
    blur: float = 0.0
    noise: float = 0.0
    seed: int = 0

    @property
    def is_identity(self) -> bool:
        return (self.brightness, self.temperature, self.gamma, self.haze, self.blur, self.noise) == (1, 0, 1, 0, 0, 0)


def sample_photometric(rng: np.random.Generator, strength: float) -> Photometric:
    """A random change; every component is 0 (none) at strength 0 and strongest at 1."""
    return Photometric(
        brightness=1.0 + strength * rng.uniform(-0.35, 0.35),
        temperature=strength * rng.uniform(-1.0, 1.0),
        gamma=math.exp(strength * rng.uniform(-0.3, 0.3)),
        haze=strength * rng.uniform(0.05, 0.45),
        visibility=rng.uniform(600.0, 2000.0),
        blur=strength * rng.uniform(0.0, 1.3),
        noise=strength * rng.uniform(0.0, 6.0),
        seed=int(rng.integers(2**31)),
    )


def _haze_amount(change: Photometric, depth: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """(H, W, 1): how much haze each pixel gets; half of `haze` everywhere without a depth map."""
    if depth is None:
        return np.full((*shape, 1), change.haze * 0.5, dtype=np.float32)
    return (change.haze * (1.0 - np.exp(-depth / change.visibility)))[..., None].astype(np.float32)


def _tone_table(change: Photometric) -> list[int]:
    """A 3 × 256 lookup table (R, then G, then B) for brightness, colour temperature and gamma."""
    t = 0.12 * change.temperature
    levels = np.arange(256, dtype=np.float64) / 255.0
    tables = [np.clip(levels * change.brightness * gain, 0, 1) ** change.gamma for gain in (1 + t, 1.0, 1 - t)]
    return np.concatenate([np.round(table * 255) for table in tables]).astype(int).tolist()


def apply_photometric(image: np.ndarray, change: Photometric, depth: np.ndarray | None = None) -> np.ndarray:
    """image (H, W, 3) uint8 through `change` -> (H, W, 3) uint8. depth: (H, W) scene pixels to each pixel's
    surface (inf for sky), for haze that grows with distance."""
    if change.is_identity:
        return image.copy()
    picture = Image.fromarray(image)
    if change.blur > 0.05:
        picture = picture.filter(ImageFilter.GaussianBlur(change.blur))
    values = np.asarray(picture.point(_tone_table(change)), dtype=np.float32)
    haze = _haze_amount(change, depth, image.shape[:2])
    values = values * (1 - haze) + (HAZE * 255) * haze
    if change.noise > 0:
        uniform = np.random.default_rng(change.seed).random(values.shape, dtype=np.float32)  # std 1 after scaling
        values += (uniform - np.float32(0.5)) * np.float32(change.noise * 2 * np.sqrt(3))
    return np.clip(values + 0.5, 0, 255).astype(np.uint8)


def photometric_change(
    image: np.ndarray, rng: np.random.Generator, strength: float, depth: np.ndarray | None = None
) -> np.ndarray:
    """A random photometric change of `strength` in [0, 1] applied to image (H, W, 3) uint8."""
    return apply_photometric(image, sample_photometric(rng, strength), depth)
