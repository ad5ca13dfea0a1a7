"""The CVOGL reader, writer and dataset: what a user loading real or synthetic CVOGL data relies on."""

import math
import random

import numpy as np
import pytest
import torch
from PIL import Image

from smgeo.data.cvogl import CVOGLDataset, CVOGLFormatError, CVOGLItem, CVOGLRecord, read_records, write_split
from smgeo.data.transforms import build_transforms

NAME = "CVOGL_Test"


def _item(number: int, satellite_side: int = 64, box=(10.0, 20.0, 300.0, 400.0), suffix: str = "png") -> CVOGLItem:
    query = Image.new("RGB", (32, 24), (number * 40 % 255, 100, 50))
    satellite = Image.new("RGB", (satellite_side, satellite_side), (20, 200, number * 30 % 255))
    return CVOGLItem(
        sample_id=number,
        query_file=f"q{number}.{suffix}",
        query_image=query,
        satellite_file=f"s{number}.{suffix}",
        satellite_image=satellite,
        click=(5.5 + number, 7.0),
        box=box,
        category="building",
    )


def _write(tmp_path, split: str = "train", items=None) -> None:
    write_split(tmp_path, NAME, split, items if items is not None else [_item(0), _item(1, suffix="jpg")])


def test_write_then_read_gives_the_same_records(tmp_path) -> None:
    _write(tmp_path)
    records = read_records(tmp_path, NAME, "train")
    assert records[1] == CVOGLRecord(
        sample_id=1,
        query_file="q1.jpg",
        satellite_file="s1.jpg",
        unknown=[0.0, 0.0],
        click=(6.5, 7.0),
        box=(10.0, 20.0, 300.0, 400.0),
        polygon=[[10.0, 20.0], [300.0, 20.0], [300.0, 400.0], [10.0, 400.0]],
        category="building",
    )
    assert [r.query_file for r in records] == ["q0.png", "q1.jpg"]
    assert (tmp_path / NAME / "query" / "q1.jpg").is_file() and (tmp_path / NAME / "satellite" / "s0.png").is_file()


def test_reader_turns_numpy_values_into_plain_python(tmp_path) -> None:
    record = [np.int64(7), "q.jpg", "s.jpg", np.zeros(2), np.array([3.5, 4.0]), np.array([1, 2, 30, 40], np.float32)]
    record += [np.zeros((4, 2)), "vehicle"]
    (tmp_path / NAME).mkdir()
    torch.save([record], tmp_path / NAME / f"{NAME}_test.pth")
    (parsed,) = read_records(tmp_path, NAME, "test")
    assert parsed.sample_id == 7 and type(parsed.sample_id) is int
    assert parsed.click == (3.5, 4.0) and all(type(v) is float for v in parsed.box)
    assert parsed.box == (1.0, 2.0, 30.0, 40.0) and parsed.category == "vehicle"


def test_a_missing_split_file_says_some_downloads_lack_it(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=rf"{NAME}_val\.pth not found\. Some public CVOGL downloads lack"):
        read_records(tmp_path, NAME, "val")


def test_an_unknown_split_is_rejected(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown split 'training'"):
        read_records(tmp_path, NAME, "training")


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (["id", "q.jpg", "s.jpg", [0, 0], [1, 2], [1, 2, 3, 4], None], "expected 8 fields, got 7"),
        (["id", "q.jpg", "s.jpg", [0, 0], [1, math.nan], [1, 2, 3, 4], None, "x"], "click must be two finite"),
        (["id", "q.jpg", "s.jpg", [0, 0], [1, 2], [1, 2, 3], None, "x"], "box must be four finite"),
        (["id", "q.jpg", "s.jpg", [0, 0], [1, 2], [5, 2, 3, 4], None, "x"], "x2 > x1"),
        (["id", 12, "s.jpg", [0, 0], [1, 2], [1, 2, 3, 4], None, "x"], "file names must be non-empty strings"),
    ],
)
def test_a_malformed_record_names_split_index_and_problem(tmp_path, bad, problem) -> None:
    good = ["id", "q.jpg", "s.jpg", [0.0, 0.0], [1.0, 2.0], [1.0, 2.0, 3.0, 4.0], None, "building"]
    (tmp_path / NAME).mkdir()
    torch.save([good, bad], tmp_path / NAME / f"{NAME}_val.pth")
    with pytest.raises(CVOGLFormatError, match=f"val record 1: .*{problem}"):
        read_records(tmp_path, NAME, "val")


def test_the_writer_checks_every_item_before_writing_anything(tmp_path) -> None:
    items = [_item(0), _item(1, box=(50.0, 20.0, 40.0, 400.0))]
    with pytest.raises(CVOGLFormatError, match="train item 1: box needs x2 > x1"):
        _write(tmp_path, items=items)
    assert not (tmp_path / NAME / "query").exists()
    assert not (tmp_path / NAME / f"{NAME}_train.pth").exists()


def test_dataset_gives_boxes_in_the_satellite_pixels_and_a_clamped_frame_box(tmp_path) -> None:
    box = (100.0, 200.0, 1100.0, 600.0)  # in the 1024 frame, past its right edge
    _write(tmp_path, items=[_item(0, satellite_side=512, box=box)])
    sample = CVOGLDataset(tmp_path, NAME, "train")[0]
    assert sample["reference"].size == (512, 512) and sample["query"].size == (32, 24)
    assert sample["box"] == (50.0, 100.0, 550.0, 300.0)  # halved with the image
    assert sample["frame_box"].tolist() == [100.0, 200.0, 1023.0, 600.0]
    assert sample["frame_box"].dtype == torch.float32 and sample["index"] == 0
    assert sample["to_frame"].tolist() == [2.0, 2.0, 2.0, 2.0]


def test_to_frame_maps_a_box_at_the_model_input_back_to_the_frame(tmp_path) -> None:
    _write(tmp_path, items=[_item(0, satellite_side=512, box=(100.0, 200.0, 300.0, 600.0))])
    dataset = CVOGLDataset(tmp_path, NAME, "train", transform=build_transforms((24, 32), 128, train=False))
    sample = dataset[0]
    assert sample["to_frame"].tolist() == [8.0, 8.0, 8.0, 8.0]
    assert torch.allclose(sample["box"] * sample["to_frame"], sample["frame_box"])


def test_a_non_square_satellite_image_scales_x_and_y_each(tmp_path) -> None:
    item = _item(0, box=(128.0, 256.0, 512.0, 768.0))
    item = CVOGLItem(**{**item.__dict__, "satellite_image": Image.new("RGB", (512, 256), (9, 9, 9))})
    _write(tmp_path, items=[item])
    sample = CVOGLDataset(tmp_path, NAME, "train")[0]
    assert sample["box"] == (64.0, 64.0, 256.0, 192.0)  # x halved, y quartered with the image
    assert sample["to_frame"].tolist() == [2.0, 4.0, 2.0, 4.0]
    resized = CVOGLDataset(tmp_path, NAME, "train", transform=build_transforms((24, 32), 128, train=False))[0]
    assert torch.allclose(resized["box"] * resized["to_frame"], resized["frame_box"])


def test_jpegs_decode_at_a_reduced_size_when_the_model_needs_less(tmp_path) -> None:
    box = (100.0, 200.0, 300.0, 600.0)
    _write(tmp_path, items=[_item(0, satellite_side=512, box=box, suffix="jpg")])
    full = CVOGLDataset(tmp_path, NAME, "train")[0]
    small = CVOGLDataset(tmp_path, NAME, "train", decode_sides={"satellite": 128})[0]
    assert full["reference"].size == (512, 512) and small["reference"].size == (128, 128)
    assert small["box"] == (12.5, 25.0, 37.5, 75.0)  # the box follows the decoded size
    assert torch.allclose(torch.tensor(small["box"]) * small["to_frame"], small["frame_box"])


def test_the_transform_rng_is_stable_per_sample_and_epoch(tmp_path) -> None:
    _write(tmp_path)

    def draw(sample: dict, rng: random.Random) -> dict:
        return {**sample, "draw": rng.random()}

    dataset = CVOGLDataset(tmp_path, NAME, "train", transform=draw, seed=3)
    first = [dataset[i]["draw"] for i in range(2)]
    assert first == [dataset[i]["draw"] for i in range(2)] and first[0] != first[1]
    dataset.set_epoch(1)
    assert dataset[0]["draw"] != first[0]
    assert CVOGLDataset(tmp_path, NAME, "train", transform=draw, seed=4)[0]["draw"] != first[0]


def test_a_missing_image_names_the_file_and_the_record(tmp_path) -> None:
    _write(tmp_path)
    (tmp_path / NAME / "query" / "q1.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"train record 1: query image .*q1\.jpg"):
        CVOGLDataset(tmp_path, NAME, "train")[1]


def test_the_dataset_needs_both_image_folders(tmp_path) -> None:
    _write(tmp_path)
    (tmp_path / NAME / "satellite" / "s0.png").unlink()
    (tmp_path / NAME / "satellite" / "s1.jpg").unlink()
    (tmp_path / NAME / "satellite").rmdir()
    with pytest.raises(FileNotFoundError, match="satellite"):
        CVOGLDataset(tmp_path, NAME, "train")


def test_a_dataloader_batches_transformed_samples(tmp_path) -> None:
    _write(tmp_path, items=[_item(n, satellite_side=256) for n in range(3)])
    dataset = CVOGLDataset(tmp_path, NAME, "train", transform=build_transforms((24, 32), 64, train=True))
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=3)))
    assert batch["query"].shape == (3, 3, 24, 32) and batch["reference"].shape == (3, 3, 64, 64)
    assert batch["click"].shape == (3, 2) and batch["frame_box"].shape == (3, 4)
    assert batch["index"].tolist() == [0, 1, 2] and batch["to_frame"].tolist() == [[16.0] * 4] * 3
