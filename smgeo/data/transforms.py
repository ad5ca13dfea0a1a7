"""Joint transforms of a cross-view sample: the pixels move, and the click and the box move with them.

A sample is a dict with "query" and "reference" (RGB PIL images until `ToTensor`), "click" and "box".
Coordinates, in each image's own pixels:
- click: (x, y) pixel indices, x = column; the centre of pixel (column i, row j) is (i, j);
- box: (x1, y1, x2, y2) pixel edges; a box covering columns 10..19 has x1 = 10, x2 = 20.
Every transform is a callable `t(sample, rng) -> sample` that returns a new dict; all randomness comes from `rng`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageFilter

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Sample = dict[str, Any]


class JointTransform(Protocol):
    def __call__(self, sample: Sample, rng: random.Random) -> Sample: ...


# ------------------------------------------------------------------------------------- coordinate helpers
def _scale_click(click: Sequence[float], sx: float, sy: float) -> tuple[float, float]:
    """A pixel-index point through a resize by (sx, sy): pixel centres map to pixel centres."""
    return ((click[0] + 0.5) * sx - 0.5, (click[1] + 0.5) * sy - 0.5)


def _scale_box(box: Sequence[float], sx: float, sy: float) -> tuple[float, float, float, float]:
    return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


def _rotate_box_ccw(box: Sequence[float], width: int) -> tuple[float, float, float, float]:
    """A box through a 90° counter-clockwise rotation of an image `width` pixels wide."""
    x1, y1, x2, y2 = box
    return (y1, width - x2, y2, width - x1)


def _crop_offset(lo: int, hi: int, rng: random.Random) -> int:
    return rng.randint(lo, hi) if hi > lo else lo


# ------------------------------------------------------------------------------------------- transforms
class Compose:
    """Apply transforms in order, all with the same rng."""

    def __init__(self, transforms: Sequence[JointTransform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: Sample, rng: random.Random) -> Sample:
        for transform in self.transforms:
            sample = transform(sample, rng)
        return sample

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Resize:
    """Query to `query_size` (height, width), reference to `reference_size` squared; bilinear, no randomness."""

    def __init__(self, query_size: tuple[int, int], reference_size: int) -> None:
        self.query_size, self.reference_size = tuple(query_size), reference_size

    def __call__(self, sample: Sample, rng: random.Random) -> Sample:
        query, reference = sample["query"], sample["reference"]
        height, width = self.query_size
        side = self.reference_size
        click = _scale_click(sample["click"], width / query.width, height / query.height)
        box = _scale_box(sample["box"], side / reference.width, side / reference.height)
        query = query.resize((width, height), Image.BILINEAR)
        reference = reference.resize((side, side), Image.BILINEAR)
        return {**sample, "query": query, "reference": reference, "click": click, "box": box}

    def __repr__(self) -> str:
        return f"Resize(query_size={self.query_size}, reference_size={self.reference_size})"


class RandomRotate90Reference:
    """Rotate the reference (and its box) by k × 90° counter-clockwise, k uniform in 0..3."""

    def __call__(self, sample: Sample, rng: random.Random) -> Sample:
        reference, box = sample["reference"], tuple(sample["box"])
        for _ in range(rng.randint(0, 3)):
            box = _rotate_box_ccw(box, reference.width)
            reference = reference.transpose(Image.Transpose.ROTATE_90)
        return {**sample, "reference": reference, "box": box}

    def __repr__(self) -> str:
        return "RandomRotate90Reference()"


class RandomReferenceCrop:
    """Crop a square of side scale × min(width, height), scale uniform in [min_scale, 1], holding the whole box.

    The side grows when the box would not fit. Follow with `Resize`.
    """

    def __init__(self, min_scale: float = 0.75) -> None:
        self.min_scale = min_scale

    def __call__(self, sample: Sample, rng: random.Random) -> Sample:
        reference = sample["reference"]
        width, height = reference.size
        x1, y1, x2, y2 = sample["box"]
        x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
        y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
        side = round(rng.uniform(self.min_scale, 1.0) * min(width, height))
        side = min(max(side, math.ceil(x2) - math.floor(x1), math.ceil(y2) - math.floor(y1)), min(width, height))
        left = _crop_offset(max(0, math.ceil(x2) - side), min(math.floor(x1), width - side), rng)
        top = _crop_offset(max(0, math.ceil(y2) - side), min(math.floor(y1), height - side), rng)
        box = tuple(v - o for v, o in zip(sample["box"], (left, top, left, top), strict=True))
        reference = reference.crop((left, top, left + side, top + side))
        return {**sample, "reference": reference, "box": box}

    def __repr__(self) -> str:
        return f"RandomReferenceCrop(min_scale={self.min_scale})"


class RandomQueryCrop:
    """Crop scale × (width, height) of the query, scale uniform in [min_scale, 1], keeping the click's pixel."""

    def __init__(self, min_scale: float = 0.8) -> None:
        self.min_scale = min_scale

    def __call__(self, sample: Sample, rng: random.Random) -> Sample:
        query = sample["query"]
        width, height = query.size
        scale = rng.uniform(self.min_scale, 1.0)
        crop_w, crop_h = max(1, round(scale * width)), max(1, round(scale * height))
        px = min(max(round(sample["click"][0]), 0), width - 1)
        py = min(max(round(sample["click"][1]), 0), height - 1)
        left = _crop_offset(max(0, px - crop_w + 1), min(px, width - crop_w), rng)
        top = _crop_offset(max(0, py - crop_h + 1), min(py, height - crop_h), rng)
        click = (sample["click"][0] - left, sample["click"][1] - top)
        query = query.crop((left, top, left + crop_w, top + crop_h))
        return {**sample, "query": query, "click": click}

    def __repr__(self) -> str:
        return f"RandomQueryCrop(min_scale={self.min_scale})"


class ColorJitter:
    """Brightness, contrast and saturation factors uniform in [1 - s, 1 + s], drawn independently per view."""

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2, saturation: float = 0.2) -> None:
        self.strengths = (brightness, contrast, saturation)

    def _jitter(self, image: Image.Image, rng: random.Random) -> Image.Image:
        enhancers = (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color)
        for enhancer, strength in zip(enhancers, self.strengths, strict=True):
            image = enhancer(image).enhance(rng.uniform(1.0 - strength, 1.0 + strength))
        return image

    def __call__(self, sample: Sample, rng: random.Random) -> Sample:
        query = self._jitter(sample["query"], rng)
        reference = self._jitter(sample["reference"], rng)
        return {**sample, "query": query, "reference": reference}

    def __repr__(self) -> str:
        return f"ColorJitter(brightness, contrast, saturation={self.strengths})"


class QueryPhotometric:
    """What a drone camera changes beyond colour, on the query only, each with probability `p`: a gamma in
    [1/(1 + s), 1 + s], a haze (a blend of up to 0.4 s towards a pale grey-blue), a Gaussian blur of radius up to
    1.5 s pixels and sensor noise of std up to 8 s (0..255). Generic camera effects, not any renderer's own model."""

    def __init__(self, strength: float = 1.0, p: float = 0.5) -> None:
        self.strength, self.p = strength, p

    def __call__(self, sample: Sample, rng: random.Random) -> Sample:
        s, image = self.strength, sample["query"].convert("RGB")
        if rng.random() < self.p:
            image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.5 * s)))
        array = np.asarray(image, dtype=np.float32) / 255.0
        if rng.random() < self.p:
            array = array ** (1.0 + s) ** rng.uniform(-1.0, 1.0)
        if rng.random() < self.p:
            haze = rng.uniform(0.0, 0.4 * s)
            array = (1 - haze) * array + haze * np.array([0.80, 0.82, 0.86], dtype=np.float32)
        if rng.random() < self.p:
            noise = np.random.default_rng(rng.getrandbits(32)).normal(0.0, rng.uniform(0.0, 8.0 * s) / 255, array.shape)
            array = array + noise.astype(np.float32)
        query = Image.fromarray((np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
        return {**sample, "query": query}

    def __repr__(self) -> str:
        return f"QueryPhotometric(strength={self.strength}, p={self.p})"


class ClickJitter:
    """Move the click by up to `fraction` of the query's shorter side in x and y, as a person's click lands anywhere
    near the object. The click stays inside the query."""

    def __init__(self, fraction: float = 0.02) -> None:
        self.fraction = fraction

    def __call__(self, sample: Sample, rng: random.Random) -> Sample:
        width, height = sample["query"].size
        reach = self.fraction * min(width, height)
        x = min(max(sample["click"][0] + rng.uniform(-reach, reach), 0.0), width - 1.0)
        y = min(max(sample["click"][1] + rng.uniform(-reach, reach), 0.0), height - 1.0)
        return {**sample, "click": (x, y)}

    def __repr__(self) -> str:
        return f"ClickJitter(fraction={self.fraction})"


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB PIL image -> float32 (3, H, W), normalised with the ImageNet mean and std."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    array = (array - np.array(IMAGENET_MEAN, dtype=np.float32)) / np.array(IMAGENET_STD, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def normalize_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 3, H, W) RGB -> float32 ImageNet-normalised, on the images' device: the same numbers as
    `image_to_tensor` (same float32 operations in the same order), computed where the model runs."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=images.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=images.device).view(3, 1, 1)
    return (images.float() / 255.0 - mean) / std


class ToTensor:
    """Images -> float32 (3, H, W) ImageNet-normalised, or with `normalize=False` uint8 (3, H, W) (`normalize_images`
    does it on the device: a quarter of the bytes through worker queues, pinned memory and the host-to-device copy);
    click -> float32 (2,); box -> float32 (4,)."""

    def __init__(self, normalize: bool = True) -> None:
        self.normalize = normalize

    def __call__(self, sample: Sample, rng: random.Random) -> Sample:
        convert = image_to_tensor if self.normalize else _uint8_tensor
        return {
            **sample,
            "query": convert(sample["query"]),
            "reference": convert(sample["reference"]),
            "click": torch.tensor(sample["click"], dtype=torch.float32),
            "box": torch.tensor(sample["box"], dtype=torch.float32),
        }

    def __repr__(self) -> str:
        return f"ToTensor(normalize={self.normalize})"


def _uint8_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB")).transpose(2, 0, 1).copy())


VIEWS = ("standard", "strong")


def build_transforms(
    query_size: tuple[int, int], reference_size: int, train: bool, normalize: bool = True, views: str = "standard"
) -> Compose:
    """Training: random crops and 90° rotation, resize, then colour jitter (on the small images: cheaper) and
    normalise. Evaluation (`train=False`): resize and normalise only; no randomness at all.
    views="strong" (a fine-tune's few labels, each shown many ways): deeper reference crops around the box, click
    jitter, stronger colour jitter and the camera's blur, noise, gamma and haze on the query.
    query_size: (height, width) of the query at the model input; reference_size: side of the reference.
    normalize=False ends in uint8 images instead, for `normalize_images` on the device.
    """
    if views not in VIEWS:
        raise ValueError(f"unknown views {views!r}; choose one of {VIEWS}")
    resize = Resize(query_size, reference_size)
    to_tensor = ToTensor(normalize)
    if not train:
        return Compose([resize, to_tensor])
    if views == "strong":
        geometric = [RandomQueryCrop(0.7), ClickJitter(0.02), RandomReferenceCrop(0.6), RandomRotate90Reference()]
        return Compose([*geometric, resize, ColorJitter(0.3, 0.3, 0.3), QueryPhotometric(1.0, 0.5), to_tensor])
    geometric = [RandomQueryCrop(0.8), RandomReferenceCrop(0.75), RandomRotate90Reference()]
    return Compose([*geometric, resize, ColorJitter(), to_tensor])


def training_decode_sides(query_size: tuple[int, int], reference_size: int) -> dict[str, int]:
    """The smallest image sides a training sample needs decoded (for `CVOGLDataset(decode_sides=...)`): twice the
    model input, so the random crops still resize down. Evaluation decodes at full size, as the predictor does."""
    return {"query": 2 * max(query_size), "satellite": 2 * reference_size}
