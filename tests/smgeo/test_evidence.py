"""The evidence commands: ablation bookkeeping, the pictures, and the speed benchmark (run on a tiny model)."""

import json
import shutil
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

import smgeo.bench_training
from smgeo.bench import count_flops, model_inputs, moe_dispatch, moe_tokens
from smgeo.checkpoint import save_checkpoint
from smgeo.cli import main
from smgeo.commands.ablate import config_differences, parameter_counts
from smgeo.config import config_to_dict, load_config
from smgeo.data.cvogl import read_records
from smgeo.model import build_model
from smgeo.moe import SparseMoE
from smgeo.predictor import Predictor
from smgeo.visualize import expert_usage, experts_figure, inspect
from tests.smgeo.conftest import DATA_NAME, SMALL_OVERRIDES

SMALL = [
    "data.num_workers=0",
    "model.reference_size=128",
    "model.query_size=[64, 64]",
    "model.encoder.dim=32",
    "model.encoder.num_heads=2",
    "model.head.hidden=16",
    "train.batch_size=2",
    "train.epochs=1",
    "train.max_steps=2",
]


def small_checkpoint(path: Path, *overrides: str) -> Path:
    torch.manual_seed(0)
    config = load_config("tiny", [*SMALL, *overrides])
    return save_checkpoint(path, config, build_model(config.model).state_dict())


def visualize(checkpoint: Path, data_root: Path, out_dir: Path, capsys, *extra: str) -> list[dict]:  # noqa: ANN001
    args = ["visualize", "--checkpoint", str(checkpoint), "--data-root", str(data_root), "--data-name", DATA_NAME]
    assert main([*args, "--out-dir", str(out_dir), "--device", "cpu", *extra]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_visualize_draws_the_prediction_and_one_expert_map_per_layer_and_view(tiny_dataset, tmp_path, capsys) -> None:
    checkpoint = small_checkpoint(tmp_path / "m.pt", "model.encoder.num_layers=2")
    written = visualize(checkpoint, tiny_dataset, tmp_path / "img", capsys, "--index", "0", "--index", "1")
    records = read_records(tiny_dataset, DATA_NAME, "test")
    assert [w["id"] for w in written] == [records[0].sample_id, records[1].sample_id]
    for entry in written:
        for key in ("prediction", "experts"):
            with Image.open(entry[key]) as picture:
                assert picture.format == "PNG" and picture.width > 600 and picture.height > 300
        for view in ("query", "reference"):
            assert len(entry["expert_usage"][view]) == 6 and sum(entry["expert_usage"][view]) == pytest.approx(
                1.0, abs=5e-4
            )  # 4 decimals each
        assert 0.0 <= entry["iou"] <= 1.0


def test_expert_maps_cover_every_layer_and_the_grids_each_view_has(tiny_dataset, tmp_path) -> None:
    from smgeo.data.cvogl import CVOGLDataset

    sample = CVOGLDataset(tiny_dataset, DATA_NAME, "test").raw_sample(0)
    full = Predictor(small_checkpoint(tmp_path / "full.pt", "model.encoder.num_layers=2"), device="cpu")
    item = inspect(full, sample["query"], sample["reference"], sample["click"], list(sample["box"]))
    assert len(item.choices) == 2
    assert item.choices[0]["reference_fine"].shape == (8, 8) and item.choices[0]["query_fine"].shape == (4, 4)
    assert len(experts_figure(item).axes) == 2 * 4
    # The usage is the share of each view's cells (all layers and scales) per expert.
    picks = torch.cat([torch.as_tensor(c[g]).flatten() for c in item.choices for g in ("query_fine", "query_coarse")])
    expected = torch.bincount(picks, minlength=6).float() / picks.numel()
    assert expert_usage(item)["query"] == pytest.approx(expected.tolist(), abs=1e-4)

    blind = Predictor(small_checkpoint(tmp_path / "qa.pt", "model.query_agnostic=true"), device="cpu")
    item = inspect(blind, sample["query"], sample["reference"], sample["click"])
    assert set(item.choices[0]) == {"reference_fine", "reference_coarse"} and len(experts_figure(item).axes) == 2 * 2


def test_a_dense_ffn_model_gets_its_prediction_picture_and_no_expert_map(tiny_dataset, tmp_path, capsys) -> None:
    checkpoint = small_checkpoint(tmp_path / "dense.pt", "model.moe.ffn=dense")
    [entry] = visualize(checkpoint, tiny_dataset, tmp_path / "img", capsys)
    assert Path(entry["prediction"]).is_file() and "experts" not in entry


def test_flop_counter_counts_a_matmul_as_two_flops_per_multiply_add() -> None:
    layer = torch.nn.Linear(64, 32, bias=False)
    assert count_flops(layer, (torch.zeros(10, 64),)) == 2 * 10 * 64 * 32


def test_moe_bench_sees_the_real_tokens_and_both_dispatches_agree() -> None:
    config = load_config("tiny", [*SMALL, "model.encoder.num_layers=2"])
    model = build_model(config.model).eval()
    inputs = model_inputs(config, 1, torch.device("cpu"))
    captured = moe_tokens(model, inputs)
    # reference 128 px: 8x8 fine + 4x4 coarse; query 64 px: 4x4 fine + 2x2 coarse
    assert [args[0].shape[0] for args in captured] == [64 + 16 + 16 + 4] * 2
    with torch.no_grad():
        sparse = model(*inputs)["heatmap"]
        with moe_dispatch(model, "dense") as layers:
            assert len(layers) == 2 and all(m.dispatch == "dense" for m in layers)
            dense = model(*inputs)["heatmap"]
    assert all(m.dispatch == "sparse" for m in model.modules() if isinstance(m, SparseMoE))
    torch.testing.assert_close(sparse, dense, rtol=1e-4, atol=1e-4)


def test_bench_command_writes_latency_throughput_flops_and_ratios(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("smgeo.bench.MIN_TIMED_S", 0.0)  # exactly --runs timed calls
    measure = smgeo.bench_training.measure_training_loop  # the real measure, at test sizes
    monkeypatch.setattr(
        smgeo.bench_training,
        "measure_training_loop",
        lambda name, **kw: measure(
            name, **kw, steps=2, scenes=1, overrides=(*SMALL_OVERRIDES, "data.num_workers=1"), progress=False
        ),
    )
    config_file = tmp_path / "small.yaml"
    config_file.write_text(
        "preset: tiny\nmodel:\n  reference_size: 128\n  query_size: [64, 64]\n  encoder: {dim: 32, num_heads: 2}\n"
    )
    out = tmp_path / "bench.json"
    args = ["bench", "--configs", str(config_file), "--runs", "10", "--batch", "2", "--gemm-size", "256",
            "--training", "tiny", "--training-rounds", "1"]  # fmt: skip
    assert main([*args, "--out", str(out), "--device", "cpu"]) == 0
    report = json.loads(out.read_text())
    assert report["command"] == "smgeo " + " ".join([*args, "--out", str(out), "--device", "cpu"])  # reproduces it
    result = report["models"][str(config_file)]
    assert report["gemm"]["flops_per_s"] > 0 and report["gemm"]["runs"] == 10
    assert result["reference_size"] == 128 and result["flops_per_pair"] > 1e6
    assert result["latency_batch1"]["runs"] == 10 and result["throughput_pairs_per_s"] > 0
    assert result["ratio_to_gemm_batch1"] == pytest.approx(
        result["flops_per_pair"] / result["latency_batch1"]["median_s"] / report["gemm"]["flops_per_s"]
    )
    assert result["moe_layers"]["experts"] == 6 and result["moe_layers"]["top_k"] == 2
    cache = result["reference_cache"]  # a repeat click on the same window skips the reference backbone
    assert cache["runs"] == 10 and 0 < cache["repeat_click_s"] < cache["first_click_s"]
    assert cache["repeat_over_first"] == pytest.approx(cache["repeat_click_s"] / cache["first_click_s"])
    assert set(report["targets_met"][str(config_file)]) == {
        "moe_dense_over_sparse", "ratio_to_gemm", "repeat_click_over_first"
    }  # fmt: skip
    training = report["training_loop"]["tiny"]  # the loop against the bare step, tuned loader and untuned
    assert training["tuned"]["loader"]["decode_cache"] and not training["baseline"]["loader"]["decode_cache"]
    assert all(r["loop_samples_per_s"] > 0 and r["memory_samples_per_s"] > 0 for r in training.values())
    assert report["targets_met"]["tiny"] == {"training_loop_over_memory": training["tuned"]["ratio"] >= 0.85}
    assert "tiny training, tuned loader: loop" in capsys.readouterr().out
    assert "cuda" not in result  # bf16 and torch.compile are measured on CUDA only
    with pytest.raises(SystemExit, match="at least 10"):
        main(["bench", "--runs", "3"])


def test_a_fast_call_is_timed_for_at_least_a_second_in_all() -> None:
    from smgeo.bench import MIN_TIMED_S, median_seconds

    result = median_seconds(lambda: time.sleep(0.002), torch.device("cpu"), runs=10, warmup=1)
    assert result["runs"] > 10 and result["runs"] * result["min_s"] >= 0.5 * MIN_TIMED_S
    assert median_seconds(lambda: time.sleep(0.15), torch.device("cpu"), runs=10, warmup=0)["runs"] == 10


def test_config_differences_name_the_fields_that_differ() -> None:
    base = config_to_dict(load_config("tiny"))
    other = config_to_dict(load_config("tiny", ["train.epochs=3", "model.moe.router=shared", "train.out_dir=x"]))
    assert config_differences(base, other) == [
        "model.moe.router: expected 'view_specific', checkpoint has 'shared'",
        "train.epochs: expected 10, checkpoint has 3",
    ]


def ablate(data_root: Path, out_dir: Path, out: Path, *extra: str) -> int:
    sets = [item for field in SMALL for item in ("--set", field)]
    args = ["ablate", "--data-root", str(data_root), "--data-name", DATA_NAME, *sets]
    return main([*args, "--out-dir", str(out_dir), "--out", str(out), "--device", "cpu", *extra])


def test_ablate_trains_each_variant_and_seed_once_and_records_mean_and_std(tiny_dataset, tmp_path, capsys) -> None:
    out = tmp_path / "ablation.json"
    extra = ["--also-test", DATA_NAME + "Hard"]
    hard = tiny_dataset / (DATA_NAME + "Hard")
    if not hard.exists():  # a second test set, as a hard one would be
        shutil.copytree(tiny_dataset / DATA_NAME, hard)
        (hard / f"{DATA_NAME}_test.pth").rename(hard / f"{DATA_NAME}Hard_test.pth")
        for split in ("train", "val"):
            (hard / f"{DATA_NAME}_{split}.pth").rename(hard / f"{DATA_NAME}Hard_{split}.pth")
    assert ablate(tiny_dataset, tmp_path / "runs", out, "--variants", "full", "--seeds", "0,1", *extra) == 0
    first = json.loads(out.read_text())
    assert set(first) == {"full", "budget", "data", "command"}
    assert first["command"].startswith("smgeo ablate --data-root ") and "--seeds 0,1" in first["command"]
    assert first["budget"]["optimizer_steps"] == 2 and first["budget"]["batch_size"] == 2  # max_steps
    assert set(first["data"]) == {DATA_NAME, DATA_NAME + "Hard"} and first["data"][DATA_NAME]["pairs"]["test"] == 2
    runs = first["full"]["runs"]
    assert set(runs) == {"0", "1"}
    assert Path(runs["1"]["checkpoint"]) == tmp_path / "runs" / "full" / "seed-1" / "model.pt"
    assert {"acc@0.25", "acc@0.5", "mIoU", "center_px", "n"} <= runs["0"][DATA_NAME].keys()
    summary = first["full"]["summary"][DATA_NAME + "Hard"]["acc@0.5"]
    values = [runs[seed][DATA_NAME + "Hard"]["acc@0.5"] for seed in ("0", "1")]
    assert summary["seeds"] == 2 and summary["mean"] == pytest.approx(sum(values) / 2)
    assert summary["std"] == pytest.approx(abs(values[0] - values[1]) / 2**0.5)
    assert first["full"]["active_parameters"] < first["full"]["parameters"]  # 2 of 6 experts run on a token
    capsys.readouterr()

    # A second part of the ablation reuses what is trained and keeps what is recorded.
    assert ablate(tiny_dataset, tmp_path / "runs", out, "--variants", "full,dense_ffn", "--seeds", "0", *extra) == 0
    printed = capsys.readouterr().out
    assert "[full seed 0] reusing" in printed and "[dense_ffn seed 0] training" in printed
    second = json.loads(out.read_text())
    assert list(second) == ["full", "dense_ffn", "budget", "data", "command"]
    assert "--variants full,dense_ffn" in second["command"]  # the part that wrote the file last
    assert second["full"]["runs"] == first["full"]["runs"]  # seed 1 kept, seed 0 reused
    # equal active compute: the dense FFN is as wide as the two experts a token runs (the routers aside)
    assert second["dense_ffn"]["active_parameters"] == pytest.approx(second["full"]["active_parameters"], rel=1e-3)
    assert "| dense_ffn | SynthTiny | 1 |" in printed and " ± " in printed

    # A checkpoint trained with another budget is refused, naming the difference.
    other = small_checkpoint(tmp_path / "other.pt", "train.epochs=7")
    with pytest.raises(SystemExit, match="train.epochs: expected 1, checkpoint has 7"):
        ablate(tiny_dataset, tmp_path / "runs", out, "--variants", "shared_router", "--reuse", f"shared_router={other}")


def test_a_shared_expert_recipe_and_its_dense_ablation_have_equal_active_parameters() -> None:
    recipe = ("model.moe.shared_expert=true", "model.moe.top_k=1", "model.moe.gate_weights=softmax")
    full = parameter_counts(load_config("tiny", recipe).model)
    dense = parameter_counts(load_config("tiny", (*recipe, "model.moe.ffn=dense")).model)
    assert full["parameters"] > dense["parameters"]  # six routed experts and a shared one
    # a token runs the shared expert and one routed expert: as many hidden units as the dense FFN (the routers and
    # one more output bias aside)
    assert full["active_parameters"] == pytest.approx(dense["active_parameters"], rel=2e-3)
