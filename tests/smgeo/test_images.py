"""Reduced-size decoding and the decode cache: the same training samples, faster."""

import random

import numpy as np
import pytest
import torch
from PIL import Image

from smgeo.data.cvogl import CVOGLDataset, CVOGLItem, write_split
from smgeo.data.images import DecodeCache, open_rgb
from smgeo.data.transforms import build_transforms, image_to_tensor, normalize_images

NAME = "CVOGL_Images"


def _texture(side: int, seed: int) -> Image.Image:
    """A smooth-ish random scene (what a satellite image looks like to a decoder), not flat colour."""
    noise = np.random.default_rng(seed).integers(0, 256, (side // 16, side // 16, 3), dtype=np.uint8)
    return Image.fromarray(noise).resize((side, side), Image.BICUBIC)


def _write_pairs(root, suffix: str = "jpg", count: int = 2) -> None:
    items = [
        CVOGLItem(
            n,
            f"q{n}.{suffix}",
            _texture(256, n),
            f"s{n}.{suffix}",
            _texture(1024, 100 + n),
            (60.0, 70.0),
            (300.0, 400.0, 500.0, 640.0),
            "building",
        )
        for n in range(count)
    ]
    write_split(root, NAME, "train", items)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_reduced_decoding_gives_the_full_decodes_pixels_within_rounding(tmp_path, suffix) -> None:
    _write_pairs(tmp_path, suffix, count=1)
    path = tmp_path / NAME / "satellite" / f"s0.{suffix}"
    reduced = open_rgb(path, 512)
    assert reduced.size == (512, 512)
    full = open_rgb(path).resize((256, 256), Image.BILINEAR)
    difference = np.abs(_pixels(full) - _pixels(reduced.resize((256, 256), Image.BILINEAR)))
    assert difference.mean() < 1.0 and np.percentile(difference, 99) <= 2


def test_training_samples_are_the_same_with_and_without_the_cache(tmp_path) -> None:
    _write_pairs(tmp_path)
    transform = build_transforms((128, 128), 256, train=True, normalize=False)
    sides = {"query": 256, "satellite": 512}
    plain = CVOGLDataset(tmp_path, NAME, "train", transform=transform, decode_sides=sides)
    cached = CVOGLDataset(tmp_path, NAME, "train", transform=transform, decode_sides=sides, cache_dir=tmp_path / "c")
    for key in [(0, 0), (0, 1), (3, 1)]:
        first, again, expected = cached[key], cached[key], plain[key]  # a miss (decode), then a hit (the file)
        for sample in (first, again):
            assert torch.equal(sample["query"], expected["query"]) and torch.equal(
                sample["reference"], expected["reference"]
            )
            assert torch.equal(sample["box"], expected["box"]) and torch.equal(sample["click"], expected["click"])
    assert len(list((tmp_path / "c").glob("*.npy"))) == 4  # 2 queries + 2 satellites, each decoded once


def test_the_cache_is_not_read_for_another_size_or_a_changed_image(tmp_path) -> None:
    _write_pairs(tmp_path, count=1)
    path, cache = tmp_path / NAME / "satellite" / "s0.jpg", DecodeCache(tmp_path / "c")
    assert cache.open(path, 512).size == (512, 512)
    assert cache.open(path, 256).size == (256, 256)  # a new size: a new entry, not the 512 one
    assert cache.entry(path, 512) != cache.entry(path, 256)
    before = cache.entry(path, 512)
    _texture(1024, 7).save(path, quality=95)  # the source changes
    assert cache.entry(path, 512) != before
    assert np.array_equal(np.asarray(cache.open(path, 512)), np.asarray(open_rgb(path, 512)))


def test_an_unwritable_cache_folder_only_turns_the_cache_off(tmp_path) -> None:
    _write_pairs(tmp_path, count=1)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    path = tmp_path / NAME / "query" / "q0.jpg"
    assert np.array_equal(np.asarray(DecodeCache(blocker / "c").open(path, 128)), np.asarray(open_rgb(path, 128)))


def test_device_normalisation_gives_exactly_the_host_normalised_numbers() -> None:
    image = _texture(64, 3)
    uint8 = build_transforms((32, 48), 64, train=False, normalize=False)(
        {"query": image, "reference": image, "click": (1.0, 2.0), "box": (0.0, 0.0, 9.0, 9.0)}, random.Random(0)
    )
    assert uint8["query"].dtype == torch.uint8 and uint8["query"].shape == (3, 32, 48)
    expected = image_to_tensor(image.resize((48, 32), Image.BILINEAR))
    assert torch.equal(normalize_images(uint8["query"][None])[0], expected)
