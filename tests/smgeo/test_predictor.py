import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from smgeo.backbone import build_backbone
from smgeo.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from smgeo.config import load_config, merge
from smgeo.data.cvogl import read_records
from smgeo.model import build_model
from smgeo.predictor import Predictor
from smgeo.windows import sliding_squares

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = load_config(
        "tiny",
        ["model.reference_size=128", "model.query_size=[64, 64]", "model.encoder.dim=32", "model.encoder.num_heads=2"],
    )
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    return save_checkpoint(path, config, build_model(config.model).state_dict(), metrics={"acc@0.5": 0.1})


def images(reference_side: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    query = rng.integers(0, 255, (100, 120, 3), dtype=np.uint8)
    return query, rng.integers(0, 255, (reference_side, reference_side, 3), dtype=np.uint8)


def test_predict_returns_boxes_in_the_given_reference_pixels(checkpoint) -> None:
    predictor = Predictor(checkpoint, device="cpu")
    query, reference = images(300)
    prediction = predictor.predict(query, reference, (50.0, 40.0))
    assert len(prediction.candidates) == 5 and prediction.candidates[0]["box"] == prediction.box
    assert prediction.heatmap.shape == (16, 16) and 0 <= prediction.score <= 1
    centre_x = (prediction.box[0] + prediction.box[2]) / 2
    assert 0 <= centre_x <= 300 and prediction.latency_ms > 0
    batch = predictor.predict_batch([(query, reference, (50.0, 40.0)), (query, reference, (10.0, 10.0))])
    assert batch[0].box == pytest.approx(prediction.box, abs=1e-3)


def test_a_click_outside_the_query_is_refused(checkpoint) -> None:
    predictor = Predictor(checkpoint, device="cpu")
    query, reference = images()
    for click in [(120.0, 10.0), (-1.0, 5.0), (float("nan"), 3.0)]:
        with pytest.raises(ValueError, match="outside"):
            predictor.predict(query, reference, click)


def test_sliding_windows_cover_the_whole_reference_and_keep_the_best_peak(checkpoint) -> None:
    origins = [(x, y) for x, y, _, _ in sliding_squares(300, 200, 128, 0.25)]
    assert origins == [(x, y) for y in (0, 72) for x in (0, 96, 172)]
    predictor = Predictor(checkpoint, device="cpu")
    query, reference = images(400)
    prediction = predictor.predict_sliding(query, reference, (30.0, 30.0), window=128)
    assert prediction.extra["windows"] == 16
    x1, y1, x2, y2 = prediction.window
    assert x2 - x1 == 128 and 0 <= x1 <= 272 and 0 <= y1 <= 272
    per_window = [
        predictor.predict(query, Image.fromarray(reference).crop(tuple(int(v) for v in square)), (30.0, 30.0))
        for square in sliding_squares(400, 400, 128, 0.25)
    ]
    assert prediction.score == pytest.approx(max(p.score for p in per_window), abs=1e-6)


def test_foreign_or_truncated_checkpoints_are_refused_clearly(checkpoint, tmp_path) -> None:
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not an SMGeo checkpoint"):
        load_checkpoint(foreign)


def test_a_checkpoint_loads_where_the_backbone_weights_it_started_from_are_gone(checkpoint, tmp_path) -> None:
    weights, base = tmp_path / "swin.pt", load_checkpoint(checkpoint)["config"]
    torch.save(build_backbone(base.model.backbone, base.model.reference_size).state_dict(), weights)
    config = merge(base, {"model": {"backbone": {"weights": str(weights)}}})
    path = save_checkpoint(tmp_path / "model.pt", config, build_model(config.model).state_dict())
    query, reference = images()
    before = Predictor(path, device="cpu").predict(query, reference, (50.0, 40.0))
    weights.unlink()  # as on any machine but the one it was trained on
    predictor = Predictor(path, device="cpu")
    assert predictor.predict(query, reference, (50.0, 40.0)).box == before.box
    assert predictor.config.model.backbone.weights == str(weights)  # kept as provenance


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smgeo", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_predict_command_prints_box_score_candidates_and_latency(checkpoint, tmp_path) -> None:
    query, reference = images()
    Image.fromarray(query).save(tmp_path / "q.png")
    Image.fromarray(reference).save(tmp_path / "r.png")
    result = run_cli(
        "predict",
        "--checkpoint",
        str(checkpoint),
        "--query",
        str(tmp_path / "q.png"),
        "--reference",
        str(tmp_path / "r.png"),
        "--click",
        "50,40",
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"box", "score", "candidates", "latency_ms"} and len(out["box"]) == 4


def test_eval_command_writes_metrics_and_per_sample_boxes_in_the_frame(checkpoint, tiny_dataset, tmp_path) -> None:
    out = tmp_path / "eval.json"
    result = run_cli(
        "eval",
        "--data-root",
        str(tiny_dataset),
        "--data-name",
        "SynthTiny",
        "--split",
        "test",
        "--checkpoint",
        str(checkpoint),
        "--out",
        str(out),
        "--device",
        "cpu",
    )
    assert result.returncode == 0, result.stderr
    written = json.loads(out.read_text())
    assert {"acc@0.25", "acc@0.5", "mIoU", "center_px"} <= written["metrics"].keys()
    records = read_records(tiny_dataset, "SynthTiny", "test")
    assert [s["id"] for s in written["samples"]] == [r.sample_id for r in records]
    assert json.loads(result.stdout)["n"] == 2
    # The same model on the 256-px satellite image directly: eval's boxes are those, scaled to the 1024 frame.
    folder = tiny_dataset / "SynthTiny"
    first = records[0]
    direct = Predictor(checkpoint, device="cpu").predict(
        Image.open(folder / "query" / first.query_file),
        Image.open(folder / "satellite" / first.satellite_file),
        first.click,
    )
    assert written["samples"][0]["box"] == pytest.approx([v * 1024 / 256 for v in direct.box], abs=0.05)
