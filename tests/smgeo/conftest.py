"""A small synthetic CVOGL-layout dataset and a very small model config, shared by the training tests."""

from pathlib import Path

import pytest

from smgeo.config import SMGeoConfig, load_config
from smgeo.synth import generate_dataset, synth_options

DATA_NAME = "SynthTiny"


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """3 train / 1 val / 1 test scenes with 2 targets each: 6 / 2 / 2 pairs (satellite 256 px, query 128 px)."""
    root = tmp_path_factory.mktemp("synth-tiny")
    options = synth_options(satellite_size=256, query_size=128, targets_per_scene=2, distractors=2)
    generate_dataset(root, DATA_NAME, options, {"train": 3, "val": 1, "test": 1}, seed=11, progress=False)
    return root


def small_config(data_root: Path, out_dir: Path, *overrides: str) -> SMGeoConfig:
    """The tiny preset shrunk further so a training step takes a fraction of a second on a CPU."""
    paths = [f"data.data_root={data_root}", f"data.data_name={DATA_NAME}", f"train.out_dir={out_dir}"]
    return load_config("tiny", [*paths, *SMALL_OVERRIDES, *overrides])


SMALL_OVERRIDES = (  # the tiny preset shrunk further: a training step takes a fraction of a second on a CPU
    "data.num_workers=0",
    "model.reference_size=128",
    "model.query_size=[64, 64]",
    "model.encoder.dim=32",
    "model.encoder.num_heads=2",
    "model.encoder.num_layers=1",
    "model.head.hidden=16",
    "train.batch_size=2",
    "train.log_every_steps=1",
)
