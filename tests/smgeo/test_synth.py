"""The synthetic cross-view generator: deterministic, CVOGL-readable, and impossible without the query."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from smgeo.commands import synth as synth_command
from smgeo.data.cvogl import CVOGLDataset, read_records
from smgeo.synth import Camera, generate_dataset, generate_scene, render_drone_view, render_scene_pairs, synth_options
from smgeo.synth.generate import scene_style
from smgeo.synth.photometric import photometric_change
from smgeo.synth.specs import lookalike, random_spec
from smgeo.synth.styles import STYLES, jittered

NAME = "SynthTest"
SCENES = {"train": 2, "val": 1, "test": 1}
TINY = {"satellite_size": 256, "query_size": 96, "targets_per_scene": 2, "distractors": 2}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, NAME, synth_options(**TINY), SCENES, seed=7, progress=False)
    return root


def test_same_seed_gives_the_same_bytes_with_any_number_of_workers(dataset_root, tmp_path) -> None:
    generate_dataset(tmp_path, NAME, synth_options(**TINY), SCENES, seed=7, workers=2, progress=False)
    first, second = _files(dataset_root / NAME), _files(tmp_path / NAME)
    assert len(first) == 3 + 1 + 4 + 8 and first.keys() == second.keys()  # .pth files, manifest, 4 scenes, 8 queries
    assert all(first[name] == second[name] for name in first)


def test_another_seed_gives_other_images(dataset_root, tmp_path) -> None:
    generate_dataset(tmp_path, NAME, synth_options(**TINY), {"train": 1}, seed=8, progress=False)
    name = "satellite/train_00000.jpg"
    assert (tmp_path / NAME / name).read_bytes() != (dataset_root / NAME / name).read_bytes()


def test_the_cvogl_reader_and_dataset_read_it(dataset_root) -> None:
    records = {split: read_records(dataset_root, NAME, split) for split in SCENES}
    assert {split: len(r) for split, r in records.items()} == {"train": 4, "val": 2, "test": 2}
    ids = [r.sample_id for rs in records.values() for r in rs]
    assert len(set(ids)) == len(ids)
    sample = CVOGLDataset(dataset_root, NAME, "train")[3]
    assert sample["query"].size == (96, 96) and sample["reference"].size == (256, 256)
    manifest = json.loads((dataset_root / NAME / "manifest.json").read_text())
    assert manifest["pairs"] == {"train": 4, "val": 2, "test": 2} and manifest["seed"] == 7
    assert manifest["generator"].startswith("smgeo-synth/") and manifest["options"]["distractors"] == 2


def test_clicks_lie_in_the_query_and_boxes_in_the_frame(dataset_root) -> None:
    for split in SCENES:
        for record in read_records(dataset_root, NAME, split):
            assert 0 <= record.click[0] <= 95 and 0 <= record.click[1] <= 95
            x1, y1, x2, y2 = record.box
            assert 0 <= x1 < x2 <= 1023 and 0 <= y1 < y2 <= 1023
            assert record.category in {"building", "tree", "vehicle", "pool", "court"}


def test_splits_never_share_a_satellite_image(dataset_root) -> None:
    files = {split: {r.satellite_file for r in read_records(dataset_root, NAME, split)} for split in SCENES}
    assert not files["train"] & files["val"] and not files["train"] & files["test"] and not files["val"] & files["test"]
    assert len(files["train"]) == 2  # the pairs of a scene share its satellite image


@pytest.mark.parametrize("seed", range(3))
def test_every_target_has_lookalikes_of_its_category(seed: int) -> None:
    scene = generate_scene(np.random.default_rng(seed), targets=4, distractors=4)
    targets = [obj for obj in scene.objects if obj.role == "target"]
    assert len(targets) == 4
    for target in targets:
        twins = [obj for obj in scene.objects if obj.twin_of == target.object_id]
        assert len(twins) == 4 and all(twin.category == target.category for twin in twins)


def test_the_box_frames_the_target_in_the_satellite_image() -> None:
    scene = generate_scene(np.random.default_rng(4), targets=4, distractors=2)
    ids = scene.render(0.5).nadir_ids()
    for target in (obj for obj in scene.objects if obj.role == "target"):
        rows, cols = np.nonzero(ids == target.object_id)
        seen = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]) / 0.5
        assert np.allclose(seen, target.box, atol=3.0), (target.category, seen, target.box)


def test_lookalikes_at_similarity_one_look_identical() -> None:
    rng = np.random.default_rng(0)
    for category in ("building", "tree", "vehicle", "pool", "court"):
        spec = random_spec(category, rng)
        assert lookalike(spec, rng, 1.0) == spec
        assert lookalike(spec, rng, 0.5) != spec


@pytest.mark.parametrize("seed", range(3))
def test_the_query_shows_the_target_at_the_click(seed: int) -> None:
    options = synth_options(photometric=0.0, **TINY)
    result = render_scene_pairs(options, seed)
    layers = result.scene.render(options.satellite_size / 1024)
    objects = {obj.object_id: obj for obj in result.scene.objects}
    for pair in result.pairs:
        target = objects[pair.target_id]
        assert pair.visible and target.role == "target" and pair.box == target.box
        column, row = np.rint(pair.click).astype(int)
        view = render_drone_view(layers, pair.camera, (options.query_size, options.query_size))
        assert view.object_ids[row, column] == target.object_id  # the click is on the target (roof or wall)


def test_clicks_land_anywhere_on_the_object_and_anywhere_in_the_query() -> None:
    """A person's click is not always the object's centre, nor the object always in the photo's middle."""
    options = synth_options(**TINY)
    clicks, offsets = [], []
    for seed in range(12):
        result = render_scene_pairs(options, seed)
        layers = result.scene.render(options.satellite_size / 1024)
        objects = {obj.object_id: obj for obj in result.scene.objects}
        for pair in result.pairs:
            view = render_drone_view(layers, pair.camera, (options.query_size, options.query_size))
            centre = view.projector.project(np.array([objects[pair.target_id].top_anchor]))[0]
            clicks.append(np.asarray(pair.click) / options.query_size)
            offsets.append(np.hypot(*(np.asarray(pair.click) - centre)))
    clicks = np.array(clicks)
    assert (np.abs(clicks - 0.5).max(axis=1) > 0.3).mean() > 0.15  # the old generator never went past 0.22
    assert np.median(offsets) > 2.0  # clicks spread over the object, not pinned to its centre


def test_roofs_shift_against_their_footprints_in_an_oblique_view() -> None:
    scene = generate_scene(np.random.default_rng(1), targets=1, distractors=0)
    layers = scene.render(0.5)
    building = max((o for o in scene.objects if o.category == "building"), key=lambda o: o.spec.height)
    x, y, z = building.top_anchor
    nadir = render_drone_view(layers, Camera(x, y, 900.0, 0.0, 0.0), (96, 96))
    oblique = render_drone_view(layers, Camera(x, y + 500.0, 700.0, 0.0, 35.0), (96, 96))
    for view, min_shift in ((nadir, 0.0), (oblique, 2.0)):
        roof, footprint = view.projector.project(np.array([[x, y, z], [x, y, 0.0]]))
        assert np.hypot(*(roof - footprint)) >= min_shift
        column, row = np.rint(roof).astype(int)
        assert view.object_ids[row, column] == building.object_id


def test_photometric_strength_zero_changes_nothing() -> None:
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert np.array_equal(photometric_change(image, np.random.default_rng(1), 0.0), image)
    assert not np.array_equal(photometric_change(image, np.random.default_rng(1), 1.0), image)


def test_difficulty_presets_and_flags_that_override_them() -> None:
    assert synth_options("easy").distractors < synth_options().distractors < synth_options("hard").distractors
    assert synth_options("hard").similarity > synth_options().similarity > synth_options("easy").similarity
    assert synth_options("hard", distractors=1, similarity=None).distractors == 1
    with pytest.raises(ValueError, match="similarity must be in"):
        synth_options(similarity=1.5)


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    synth_command.add_arguments(parser)
    return synth_command.run(parser.parse_args(list(argv)))


def test_the_command_writes_a_dataset_and_will_not_overwrite_one_unasked(tmp_path, capsys) -> None:
    common = ["--out", str(tmp_path), "--name", "Cli", "--scenes-train", "1", "--scenes-val", "0", "--scenes-test", "0"]
    common += ["--satellite-size", "128", "--query-size", "64", "--targets-per-scene", "1", "--quiet"]
    assert _cli(*common, "--difficulty", "hard", "--distractors", "1") == 0
    manifest = json.loads((tmp_path / "Cli" / "manifest.json").read_text())
    assert manifest["difficulty"] == "hard" and manifest["options"]["distractors"] == 1
    assert manifest["options"]["similarity"] == synth_options("hard").similarity
    assert "wrote 1 pairs" in capsys.readouterr().out
    assert _cli(*common) == 2 and "--overwrite" in capsys.readouterr().err
    assert _cli(*common, "--overwrite", "--pitch-max", "40") == 0
    assert json.loads((tmp_path / "Cli" / "manifest.json").read_text())["options"]["pitch_deg"] == [20.0, 40.0]


def test_a_style_changes_the_colours_of_a_scene_never_its_layout_clicks_or_boxes() -> None:
    tiny = {**TINY, "targets_per_scene": 2}
    scenes = {
        style: render_scene_pairs(synth_options(style=style, **tiny), 3) for style in ("temperate", "arid", "winter")
    }
    temperate = scenes["temperate"]
    for style in ("arid", "winter"):
        other = scenes[style]
        assert [p.box for p in other.pairs] == [p.box for p in temperate.pairs]
        assert [p.click for p in other.pairs] == [p.click for p in temperate.pairs]
        mean_gap = np.abs(other.satellite.astype(float).mean((0, 1)) - temperate.satellite.astype(float).mean((0, 1)))
        assert mean_gap.max() > 20  # the ground's colour differs, not just its noise
    winter_ground = scenes["winter"].satellite.astype(float).mean()
    assert winter_ground > temperate.satellite.astype(float).mean() + 40  # snow is brighter than grass
    with pytest.raises(ValueError, match="unknown style.*lunar"):
        synth_options(style="lunar")


def test_a_style_mix_draws_a_style_per_scene_with_jittered_colours_and_leaves_the_layout_alone() -> None:
    tiny = {**TINY, "targets_per_scene": 2}
    mix = synth_options(style="all-but:arid", style_jitter=0.6, **tiny)
    assert "arid" not in mix.style_mix().names and len(mix.style_mix().names) == len(STYLES) - 1
    drawn = {scene_style(mix.style_mix(), seed).name for seed in range(40)}
    assert {name.rstrip("~") for name in drawn} == set(mix.style_mix().names)  # every style but arid, none else
    plain = render_scene_pairs(synth_options(**tiny), 5)
    mixed, again = (render_scene_pairs(mix, 5) for _ in range(2))
    assert [p.box for p in mixed.pairs] == [p.box for p in plain.pairs]
    assert [p.click for p in mixed.pairs] == [p.click for p in plain.pairs]
    assert np.array_equal(mixed.satellite, again.satellite)  # the same seed draws the same style and colours
    temperate = synth_options(style="temperate", **tiny).style_mix()
    palettes = {jittered(STYLES["temperate"], np.random.default_rng(seed), 1.0).roofs for seed in range(5)}
    assert len(palettes) == 5 and STYLES["temperate"].roofs not in palettes
    assert scene_style(temperate, 5) is STYLES["temperate"]  # one style without jitter is that style, unshifted
    with pytest.raises(ValueError, match="jitter must be in"):
        synth_options(style_jitter=1.5)


def test_the_command_writes_a_style_into_its_manifest(tmp_path) -> None:
    common = [
        "--out",
        str(tmp_path),
        "--name",
        "Arid",
        "--scenes-train",
        "1",
        "--scenes-val",
        "0",
        "--scenes-test",
        "0",
    ]
    common += ["--satellite-size", "128", "--query-size", "64", "--targets-per-scene", "1", "--quiet"]
    assert _cli(*common, "--style", "arid") == 0
    assert json.loads((tmp_path / "Arid" / "manifest.json").read_text())["options"]["style"] == "arid"
    mixed = ["--name", "Mixed", "--style", "all-but:arid", "--style-jitter", "0.5"]
    assert _cli(*common[:2], *mixed, *common[4:]) == 0
    options = json.loads((tmp_path / "Mixed" / "manifest.json").read_text())["options"]
    assert (options["style"], options["style_jitter"]) == ("all-but:arid", 0.5)


def test_the_preview_draws_every_style_and_the_mix_without_writing_a_dataset(tmp_path) -> None:
    sheet = tmp_path / "styles.png"
    small = ["--satellite-size", "64", "--query-size", "32", "--out", str(tmp_path), "--name", "None"]
    assert _cli("--preview", str(sheet), "--style", "all-but:arid", "--style-jitter", "0.5", *small) == 0
    with Image.open(sheet) as image:
        assert image.size == (len(STYLES) * 256, 3 * (256 + 16))  # two rows of styles, one of the mix's draws
    assert not (tmp_path / "None").exists()
