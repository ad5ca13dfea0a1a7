"""`smgeo card`: one JSON that says how good a checkpoint is, on which data, with how many samples."""

import json

import pytest
import torch

from smgeo.cli import main
from smgeo.metrics import sample_scores
from tests.smgeo.conftest import DATA_NAME
from tests.smgeo.test_evidence import small_checkpoint


def test_the_card_holds_each_test_set_with_n_and_the_mission_photo_by_photo(tiny_dataset, tmp_path, capsys) -> None:
    checkpoint = small_checkpoint(tmp_path / "model.pt")
    mission = tmp_path / "mission"
    assert main(["mission", "--out", str(mission), "--scenes", "1", "--seed", "3"]) == 0
    out = tmp_path / "card.json"
    args = ["card", "--checkpoint", str(checkpoint), "--data", f"{tiny_dataset}:{DATA_NAME}:test"]
    assert main([*args, "--mission", str(mission), "--reproduce", "smgeo train ...", "--out", str(out)]) == 0
    card = json.loads(out.read_text())
    test = card["test_sets"][f"{DATA_NAME}:test"]
    assert test["metrics"]["n"] == 2 and 0 <= test["metrics"]["acc@0.5"] <= 1
    assert test["data"]["pairs"]["test"] == 2 and test["data"]["seed"] == 11
    photos = card["mission"]["photos"]
    assert (
        len(photos)
        == card["mission"]["metrics"]["n"]
        == len(json.loads((mission / "mission.json").read_text())["drone_images"])
    )
    for photo in photos:  # each IoU is the CVOGL IoU of the recorded box against the recorded truth
        iou = sample_scores(torch.tensor([photo["box"]]), torch.tensor([photo["truth"]]))["iou"].item()
        assert abs(iou - photo["iou"]) < 2e-3
    assert card["size_mb"] > 0 and len(card["sha256"]) == 64 and card["reproduce"] == ["smgeo train ..."]
    assert "mission IoUs:" in capsys.readouterr().out


def test_a_malformed_test_set_is_refused_with_the_expected_form(tmp_path) -> None:
    checkpoint = small_checkpoint(tmp_path / "model.pt")
    with pytest.raises(SystemExit, match="ROOT:NAME:SPLIT"):
        main(["card", "--checkpoint", str(checkpoint), "--data", "nope", "--out", str(tmp_path / "c.json")])
    assert not (tmp_path / "c.json").exists()
