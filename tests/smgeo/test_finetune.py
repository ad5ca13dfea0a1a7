"""smgeo.finetune: the recipe's config, the base as the first candidate (kept when no step beats it), step-based
evaluation, frozen parts, `smgeo finetune` on a CVOGL dataset without reading its test split, WiSE-FT weights and
the recipe study's dataset views."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from smgeo import training
from smgeo.checkpoint import load_checkpoint, save_checkpoint
from smgeo.cli import main
from smgeo.config import merge
from smgeo.data.cvogl import CVOGLDataset, read_records, split_path
from smgeo.data.replay import REPLAY_IDS, Replay
from smgeo.finetune import (
    KEPT_BASE,
    KEPT_FINE_TUNED,
    FineTuneRecipe,
    finetune,
    kept_in,
    recipe_config,
)
from smgeo.model import build_model
from smgeo.recipe_study import paired, study_dataset
from smgeo.weight_averaging import interpolate_checkpoints
from tests.smgeo.conftest import DATA_NAME, small_config

SMALL_RECIPE = FineTuneRecipe(steps=4, batch_size=2, eval_every_steps=2, lr=1e-3)


@pytest.fixture
def base_checkpoint(tiny_dataset: Path, tmp_path: Path) -> Path:
    """A very small model's checkpoint, the config the training tests use."""
    config = small_config(tiny_dataset, tmp_path / "base-run")
    return save_checkpoint(tmp_path / "base.pt", config, build_model(config.model, seed=3).state_dict())


def scripted_validation(monkeypatch: pytest.MonkeyPatch, scores: list[float]) -> list[int]:
    """Val mIoU answers in order (the first is the starting weights'); the steps they were asked at."""
    asked, answers = [], iter(scores)

    def evaluate(model, loader, context, frame_size, autocast):  # noqa: ANN001, ANN202
        score = next(answers)
        asked.append(len(asked))
        return {"acc@0.5": 0.0, "acc@0.25": 0.0, "mIoU": score, "n": 2}, []

    monkeypatch.setattr(training, "evaluate", evaluate)
    return asked


def state_of(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def test_the_recipe_config_is_the_base_architecture_with_the_recipe_budget(tiny_dataset, tmp_path) -> None:
    base = small_config(tiny_dataset, tmp_path)
    recipe = FineTuneRecipe(steps=300, batch_size=8, lr=1e-4, warmup_share=0.1)
    config = recipe_config(base, recipe, data_root="/d", data_name="team", out_dir=tmp_path / "o", train_pairs=80)
    assert config.model == base.model and config.loss == base.loss
    assert (config.train.max_steps, config.train.epochs, config.train.batch_size) == (300, 30, 8)  # 10 steps an epoch
    assert config.train.warmup_epochs == pytest.approx(3.0)  # 30 of the 300 steps
    assert config.train.lr == 1e-4 and config.train.min_lr == pytest.approx(1e-5)
    assert config.train.eval_initial and config.train.select_metric == "mIoU" and config.train.eval_every_steps == 25
    assert config.data.views == "standard" and config.data.num_workers == 0 and config.data.data_name == "team"
    few = recipe_config(base, recipe, data_root="/d", data_name="t", out_dir=tmp_path, train_pairs=5, processes=2)
    assert few.train.batch_size == 3 and few.train.log_every_steps == 1  # a whole batch on each of 2 processes
    with pytest.raises(ValueError, match="no pairs"):
        recipe_config(base, recipe, data_root="/d", data_name="t", out_dir=tmp_path, train_pairs=0)
    with pytest.raises(ValueError, match="lr must lie"):
        FineTuneRecipe(lr=1.0)


def test_the_base_is_kept_when_no_fine_tuned_step_beats_it_on_val(
    tiny_dataset, base_checkpoint, tmp_path, monkeypatch
) -> None:
    asked = scripted_validation(monkeypatch, [0.50, 0.40, 0.50])  # step 0 (base), 2, 4: a tie keeps the base
    result = finetune(base_checkpoint, tiny_dataset, DATA_NAME, tmp_path / "out", SMALL_RECIPE)
    assert asked == [0, 1, 2] and result.status == "finished" and result.steps == 4
    assert result.kept == KEPT_BASE and result.best_step == 0 and kept_in(result.model_checkpoint) == KEPT_BASE
    assert same_weights(state_of(result.model_checkpoint), state_of(base_checkpoint))  # the base's weights
    assert result.summary.startswith("kept the base weights: no fine-tuned candidate beat them on val mIoU")


def test_the_best_fine_tuned_step_is_kept_when_it_beats_the_base(
    tiny_dataset, base_checkpoint, tmp_path, monkeypatch
) -> None:
    scripted_validation(monkeypatch, [0.50, 0.60, 0.55])
    result = finetune(base_checkpoint, tiny_dataset, DATA_NAME, tmp_path / "out", SMALL_RECIPE)
    assert result.kept == KEPT_FINE_TUNED and result.best_step == 2 and kept_in(result.model_checkpoint) == "fine-tuned"
    assert not same_weights(state_of(result.model_checkpoint), state_of(base_checkpoint))
    assert result.base_val["mIoU"] == 0.5 and result.val["mIoU"] == 0.6
    assert result.summary == "kept the fine-tuned weights of step 2: val mIoU 0.500 -> 0.600 (n = 2)"
    history = [(entry["kind"], entry["step"]) for entry in map(json.loads, (tmp_path / "out/metrics.jsonl").open())]
    assert [step for kind, step in history if kind == "val"] == [0, 2, 4]  # the base first, then every 2 steps


def test_frozen_parts_keep_their_weights_and_an_unknown_part_is_refused(
    tiny_dataset, base_checkpoint, tmp_path
) -> None:
    recipe = FineTuneRecipe(steps=2, batch_size=2, eval_every_steps=2, lr=1e-2, frozen=("backbone",))
    config = merge(
        recipe_config(load_checkpoint(base_checkpoint)["config"], recipe, data_root=tiny_dataset,
                      data_name=DATA_NAME, out_dir=tmp_path / "out", train_pairs=6),
        {"train": {"eval_initial": False}},  # the fine-tuned weights are kept: they must have moved
    )  # fmt: skip
    result = training.train(config, init_from=base_checkpoint)
    before, after = state_of(base_checkpoint), state_of(result.model_checkpoint)
    moved = {name for name in before if not torch.equal(before[name], after[name])}
    assert moved and not any(name.startswith("backbone") for name in moved)
    with pytest.raises(ValueError, match="no model parameter is named 'backbonez'"):
        training.train(merge(config, {"train": {"frozen": ["backbonez"]}}), init_from=base_checkpoint)


def test_smgeo_finetune_trains_on_train_decides_on_val_and_never_reads_test(
    tiny_dataset, base_checkpoint, tmp_path, capsys
) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_dataset / DATA_NAME, data / DATA_NAME)
    split_path(data, DATA_NAME, "test").write_bytes(b"not a split file: a fine-tune must never open it")
    paths = ["--init-from", str(base_checkpoint), "--data-root", str(data), "--data-name", DATA_NAME]
    code = main(["finetune", *paths, "--out-dir", str(tmp_path / "out"), "--steps", "2", "--batch-size", "2",
                 "--eval-every-steps", "1"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["status"] == "finished" and summary["steps"] == 2
    assert summary["kept"] in (KEPT_BASE, KEPT_FINE_TUNED) and summary["base_val"]["n"] == 2 == summary["val"]["n"]
    assert Path(summary["model_checkpoint"]) == tmp_path / "out" / "model.pt"
    assert (
        load_checkpoint(tmp_path / "out" / "model.pt")["config"].model
        == load_checkpoint(base_checkpoint)["config"].model
    )

    code = main(["finetune", "--init-from", str(tmp_path / "nothing.pt"), "--data-root", str(data),
                 "--data-name", DATA_NAME, "--out-dir", str(tmp_path / "o2")])  # fmt: skip
    assert code == 2 and "nothing.pt does not exist" in capsys.readouterr().err


def test_wise_ft_interpolates_every_floating_tensor_between_base_and_fine_tune(tiny_dataset, tmp_path) -> None:
    config = small_config(tiny_dataset, tmp_path)
    base = save_checkpoint(tmp_path / "a.pt", config, build_model(config.model, seed=1).state_dict())
    tuned = save_checkpoint(tmp_path / "b.pt", config, build_model(config.model, seed=2).state_dict())
    a, b = state_of(base), state_of(tuned)
    for weight, expected in ((0.0, a), (1.0, b)):
        mixed = state_of(interpolate_checkpoints(base, tuned, weight, tmp_path / f"w{weight}.pt"))
        assert all(torch.allclose(mixed[name], expected[name]) for name in a if a[name].is_floating_point())
    half = state_of(interpolate_checkpoints(base, tuned, 0.5, tmp_path / "half.pt"))
    name = next(name for name in a if a[name].is_floating_point() and not torch.equal(a[name], b[name]))
    assert torch.allclose(half[name], (a[name] + b[name]) / 2)
    with pytest.raises(ValueError, match="0..1"):
        interpolate_checkpoints(base, tuned, 1.5, tmp_path / "bad.pt")


def test_a_study_view_cuts_the_first_labels_into_train_and_val_and_keeps_all_of_test(tiny_dataset, tmp_path) -> None:
    root = tmp_path / "data"
    shutil.copytree(tiny_dataset / DATA_NAME, root / DATA_NAME)
    view = study_dataset(root, DATA_NAME, labels=4, val=1)
    train, val = (read_records(root, view, split) for split in ("train", "val"))
    assert [r.sample_id for r in train] == [r.sample_id for r in read_records(root, DATA_NAME, "train")[:3]]
    assert [r.sample_id for r in val] == [read_records(root, DATA_NAME, "val")[0].sample_id]
    assert len(read_records(root, view, "test")) == len(read_records(root, DATA_NAME, "test"))
    assert (root / view / "query").resolve() == (root / DATA_NAME / "query").resolve()
    topped = study_dataset(root, DATA_NAME, labels=6, val=3)  # 2 val pairs: one more from the train split's end
    topped_val = [r.sample_id for r in read_records(root, topped, "val")]
    originals = [r.sample_id for r in read_records(root, DATA_NAME, "train")]
    assert topped_val[2] == originals[-1] and originals[-1] not in [
        r.sample_id for r in read_records(root, topped, "train")
    ]
    with pytest.raises(ValueError, match="the study needs 10"):
        study_dataset(root, DATA_NAME, labels=10, val=1)
    assert paired({1: 0.9, 2: 0.1, 3: 0.2}, {1: 0.2, 2: 0.7, 3: 0.8}) == {
        "n": 3, "better": 2, "worse": 1, "gain_acc@0.5": pytest.approx(1 / 3)
    }  # fmt: skip


def test_a_replay_view_adds_its_share_of_base_pairs_to_train_without_touching_the_source(
    tiny_dataset, tmp_path
) -> None:
    root = tmp_path / "data"
    shutil.copytree(tiny_dataset / DATA_NAME, root / DATA_NAME)
    shutil.copytree(tiny_dataset / DATA_NAME, tmp_path / "base" / DATA_NAME)
    source_files = sorted(p.name for p in (root / DATA_NAME / "satellite").iterdir())
    view = study_dataset(
        root, DATA_NAME, labels=4, val=1, replay=Replay(str(tmp_path / "base"), DATA_NAME, 0.5, seed=3)
    )
    assert view == f"{DATA_NAME}__4__replay50"
    train = read_records(root, view, "train")
    labels = [r for r in train if r.sample_id < REPLAY_IDS]
    replayed = [r for r in train if r.sample_id >= REPLAY_IDS]
    assert [r.sample_id for r in labels] == [r.sample_id for r in read_records(root, DATA_NAME, "train")[:3]]
    assert len(replayed) == 3  # half of the train split
    assert sorted(p.name for p in (root / DATA_NAME / "satellite").iterdir()) == source_files
    dataset = CVOGLDataset(root, view, "train")
    assert len(dataset) == 6 and all(dataset[i] is not None for i in range(6))  # every image of the view is readable
