"""Joint transforms: the click and the box must stay on their pixels through every augmentation."""

import random

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from smgeo.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ClickJitter,
    QueryPhotometric,
    RandomQueryCrop,
    RandomReferenceCrop,
    RandomRotate90Reference,
    Resize,
    build_transforms,
)

QUERY_SIZE = (96, 128)  # (height, width) at the model input
REFERENCE_SIZE = 128


def _marked_sample(rng: random.Random, marker: int = 1, query_size=(160, 120), reference_side: int = 256) -> dict:
    """A black query with a bright square marker (2 * marker + 1 wide) centred on the click, and a black
    reference with the box filled."""
    width, height = query_size
    click = (rng.randint(3, width - 4), rng.randint(3, height - 4))
    query = Image.new("RGB", query_size)
    corners = (click[0] - marker, click[1] - marker, click[0] + marker, click[1] + marker)
    ImageDraw.Draw(query).rectangle(corners, fill=(255, 255, 255))
    x1, y1 = rng.randint(0, reference_side - 60), rng.randint(0, reference_side - 60)
    box = (x1, y1, x1 + rng.randint(20, 59), y1 + rng.randint(20, 59))
    reference = Image.new("RGB", (reference_side, reference_side))
    ImageDraw.Draw(reference).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=(255, 255, 255))  # edges
    return {"query": query, "reference": reference, "click": click, "box": tuple(float(v) for v in box)}


def _bright(image: Image.Image | torch.Tensor) -> np.ndarray:
    """(H, W) bool: pixels brighter than halfway between the image's darkest and brightest."""
    grey = image.mean(0).numpy() if isinstance(image, torch.Tensor) else np.asarray(image, np.float32).mean(-1)
    return grey > (grey.min() + grey.max()) / 2


def _marker_centre(image) -> tuple[float, float]:
    rows, cols = np.nonzero(_bright(image))
    return float(cols.mean()), float(rows.mean())


def _filled_box(image) -> tuple[float, float, float, float]:
    rows, cols = np.nonzero(_bright(image))
    return (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))


@pytest.mark.parametrize("seed", range(40))
def test_training_transforms_keep_click_and_box_on_their_pixels(seed: int) -> None:
    sample = _marked_sample(random.Random(1000 + seed))
    out = build_transforms(QUERY_SIZE, REFERENCE_SIZE, train=True)(sample, random.Random(seed))
    assert np.allclose(_marker_centre(out["query"]), out["click"].numpy(), atol=1.0)
    assert np.allclose(_filled_box(out["reference"]), out["box"].numpy(), atol=1.5)


@pytest.mark.parametrize("seed", range(8))
def test_crops_and_rotations_move_coordinates_exactly(seed: int) -> None:
    rng = random.Random(seed)
    for transform in (RandomRotate90Reference(), RandomReferenceCrop(0.3), RandomQueryCrop(0.3)):
        sample = _marked_sample(rng, marker=0)  # one pixel: a crop can never cut it
        out = transform(sample, rng)
        assert _marker_centre(out["query"]) == pytest.approx(out["click"])
        assert _filled_box(out["reference"]) == pytest.approx(out["box"])


def test_rotation_covers_all_four_quarter_turns() -> None:
    sample = _marked_sample(random.Random(0))
    boxes = {RandomRotate90Reference()(sample, random.Random(seed))["box"] for seed in range(40)}
    assert len(boxes) == 4


def test_reference_crop_keeps_a_box_larger_than_the_crop() -> None:
    reference = Image.new("RGB", (200, 200))
    ImageDraw.Draw(reference).rectangle((10, 20, 189, 179), fill=(255, 255, 255))
    sample = {"query": Image.new("RGB", (8, 8)), "reference": reference, "click": (1, 1), "box": (10.0, 20.0, 190, 180)}
    for seed in range(10):
        out = RandomReferenceCrop(0.2)(sample, random.Random(seed))
        assert out["reference"].width >= 180 and _filled_box(out["reference"]) == pytest.approx(out["box"])


def test_resize_scales_click_by_pixel_centres_and_box_by_edges() -> None:
    sample = {"query": Image.new("RGB", (100, 50)), "reference": Image.new("RGB", (400, 400))}
    out = Resize((100, 200), 100)({**sample, "click": (0.0, 49.0), "box": (0.0, 40.0, 400.0, 80.0)}, random.Random())
    assert out["click"] == (0.5, 98.5) and out["box"] == (0.0, 10.0, 100.0, 20.0)
    assert out["query"].size == (200, 100) and out["reference"].size == (100, 100)


class _NoRandomness(random.Random):
    def random(self) -> float:
        raise AssertionError("an evaluation transform drew a random number")


def test_evaluation_transforms_use_no_randomness() -> None:
    sample = _marked_sample(random.Random(5))
    transform = build_transforms(QUERY_SIZE, REFERENCE_SIZE, train=False)
    first, second = transform(sample, _NoRandomness()), transform(sample, random.Random(123))
    for key in ("query", "reference", "click", "box"):
        assert torch.equal(first[key], second[key])
    assert np.allclose(_marker_centre(first["query"]), first["click"].numpy(), atol=1.0)


def test_outputs_are_normalised_float32_tensors_of_the_model_sizes() -> None:
    sample = _marked_sample(random.Random(2))
    sample["query"] = Image.new("RGB", (160, 120), (128, 128, 128))
    out = build_transforms(QUERY_SIZE, REFERENCE_SIZE, train=False)(sample, random.Random())
    assert out["query"].shape == (3, 96, 128) and out["reference"].shape == (3, 128, 128)
    assert out["click"].shape == (2,) and out["box"].shape == (4,)
    assert all(out[key].dtype == torch.float32 for key in ("query", "reference", "click", "box"))
    expected = (128 / 255 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(out["query"][:, 10, 10], expected, atol=1e-5)


def test_colour_jitter_changes_each_view_independently() -> None:
    sample = _marked_sample(random.Random(3))
    sample["query"] = Image.new("RGB", (160, 120), (120, 90, 60))
    sample["reference"] = Image.new("RGB", (256, 256), (120, 90, 60))
    transform = build_transforms(QUERY_SIZE, REFERENCE_SIZE, train=True)
    gaps = []
    for seed in range(5):
        out = transform(sample, random.Random(seed))
        gaps.append(float((out["query"].mean((1, 2)) - out["reference"].mean((1, 2))).abs().max()))
    assert max(gaps) > 0.05


@pytest.mark.parametrize("seed", range(20))
def test_strong_views_keep_the_box_on_its_pixels_and_the_click_within_its_jitter(seed: int) -> None:
    sample = _marked_sample(random.Random(2000 + seed), marker=2)
    out = build_transforms(QUERY_SIZE, REFERENCE_SIZE, train=True, views="strong")(sample, random.Random(seed))
    reach = ClickJitter().fraction * max(QUERY_SIZE) + 1.5  # the jitter, in model-input pixels, plus rounding
    assert np.abs(np.array(_marker_centre(out["query"])) - out["click"].numpy()).max() <= reach
    assert np.allclose(_filled_box(out["reference"]), out["box"].numpy(), atol=1.5)


def test_the_cameras_photometric_change_touches_the_query_only_and_a_jittered_click_stays_inside() -> None:
    sample = _marked_sample(random.Random(5))
    sample["query"] = Image.new("RGB", (160, 120), (120, 90, 60))
    out = QueryPhotometric(strength=1.0, p=1.0)(sample, random.Random(1))
    assert out["reference"] is sample["reference"]
    assert np.abs(np.asarray(out["query"], np.float32) - np.asarray(sample["query"], np.float32)).mean() > 2
    corner = {**sample, "click": (0.0, 119.0)}
    for seed in range(20):
        x, y = ClickJitter(0.1)(corner, random.Random(seed))["click"]
        assert 0 <= x <= 159 and 0 <= y <= 119
    with pytest.raises(ValueError, match="unknown views"):
        build_transforms(QUERY_SIZE, REFERENCE_SIZE, train=True, views="extreme")
