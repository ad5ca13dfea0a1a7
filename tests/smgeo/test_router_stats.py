import json
import math

import pytest
import torch
from PIL import Image

from smgeo.cli import main
from smgeo.config import load_config
from smgeo.model import build_model
from smgeo.router_stats import RouterMonitor, router_snapshot, router_table, top1_change_rate, with_changes
from smgeo.training import train
from tests.smgeo.conftest import small_config

TINY = [
    "model.reference_size=128",
    "model.query_size=[64, 64]",
    "model.encoder.dim=32",
    "model.encoder.num_heads=2",
    "model.head.hidden=16",
]


def tiny_model(*overrides: str) -> torch.nn.Module:
    return build_model(load_config("tiny", [*TINY, *overrides]).model, seed=0)


def probe(batch: int = 2) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(batch, 3, 64, 64, generator=generator)
    reference = torch.randn(batch, 3, 128, 128, generator=generator)
    return [{"query": query, "reference": reference, "click": torch.tensor([[20.0, 30.0]] * batch)}]


def test_statistics_cover_every_layer_and_view_with_loads_that_sum_to_one() -> None:
    model = tiny_model()
    snapshot = router_snapshot(model, probe())
    assert [layer["layer"] for layer in snapshot.layers] == [0, 1]
    for layer in snapshot.layers:
        for view in ("drone", "satellite"):
            stats = layer[view]
            assert len(stats["load"]) == 6 and len(stats["top1_share"]) == 6
            assert sum(stats["load"]) == pytest.approx(1, abs=1e-3)
            assert sum(stats["top1_share"]) == pytest.approx(1, abs=1e-3)
            assert 0 <= stats["gate_entropy"] <= math.log(6) + 1e-4
            assert 0.5 <= stats["top1_weight"] <= 1 and stats["logit_std"] >= 0
    # 128 px reference: 8x8 fine + 4x4 coarse tokens; 64 px query: 4x4 + 2x2; two samples
    assert snapshot.layers[0]["satellite"]["tokens"] == 2 * 80 and snapshot.layers[0]["drone"]["tokens"] == 2 * 20
    assert model.training  # the probe runs in eval mode and puts the model back as it was


def test_a_router_stuck_on_expert_0_shows_full_load_and_no_entropy() -> None:
    model = tiny_model("model.moe.top_k=1")
    with torch.no_grad():
        for layer in model.encoder.layers:
            layer.ffn.router.scale_embed.weight.fill_(1.0)
            for gate in layer.ffn.router.gates:
                gate.weight.zero_()
                gate.weight[0] = 10.0  # the layer-normed tokens + 1 always score highest on expert 0
    for layer in router_snapshot(model, probe()).layers:
        for view in ("drone", "satellite"):
            assert layer[view]["load"][0] == pytest.approx(1) and layer[view]["top1_share"][0] == pytest.approx(1)
            assert layer[view]["gate_entropy"] < 0.01 and layer[view]["top1_weight"] == pytest.approx(1)


def test_top1_changes_are_zero_between_identical_evaluations_and_show_a_perturbed_router() -> None:
    model = tiny_model()
    first = router_snapshot(model, probe())
    assert all(layer["drone"]["top1_changed"] is None for layer in with_changes(first, None))
    again = router_snapshot(model, probe())
    assert all(layer[v]["top1_changed"] == 0 for layer in with_changes(again, first) for v in ("drone", "satellite"))
    with torch.no_grad():
        for gate in model.encoder.layers[0].ffn.router.gates:
            gate.weight.add_(torch.randn_like(gate.weight))
    perturbed = with_changes(router_snapshot(model, probe()), again)
    assert perturbed[0]["satellite"]["top1_changed"] > 0 and perturbed[0]["drone"]["top1_changed"] > 0
    assert perturbed[1]["satellite"]["top1_changed"] >= 0


def test_change_rate_of_choices() -> None:
    assert top1_change_rate(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 5, 5])) == 0.5
    with pytest.raises(ValueError, match="not the same probe"):
        top1_change_rate(torch.tensor([0]), torch.tensor([0, 1]))


def test_a_model_without_routers_logs_nothing() -> None:
    sink = []
    RouterMonitor([], [sink.append]).observe(tiny_model("model.moe.ffn=dense"), epoch=1, step=1)
    assert sink == []


def test_training_logs_router_statistics_at_every_evaluation_and_reports_them(tiny_dataset, tmp_path) -> None:
    reports = []

    class Hooks:
        def on_progress(self, report: dict) -> None:
            reports.append(report)

        def should_stop(self) -> bool:
            return False

    train(small_config(tiny_dataset, tmp_path, "train.epochs=2", "model.encoder.num_layers=2"), hooks=Hooks())
    log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    entries = [entry for entry in log if entry["kind"] == "router"]
    assert [e["epoch"] for e in entries] == [1, 2] and [r for r in reports if r["kind"] == "router"] == [
        {k: v for k, v in e.items() if k != "time"} for e in entries
    ]
    assert entries[0]["probe_samples"] == 2 and entries[0]["gate_entropy_max"] == pytest.approx(math.log(6), 1e-3)
    assert entries[0]["layers"][0]["satellite"]["top1_changed"] is None
    assert 0 <= entries[1]["layers"][1]["drone"]["top1_changed"] <= 1
    table = router_table(tmp_path / "metrics.jsonl").splitlines()
    assert len(table) == 1 + 2 * 2 * 2 and "drone" in table[1] and "satellite" in table[2] and "/1.792" in table[1]


def test_the_routers_command_prints_the_table_or_names_a_missing_file(tmp_path, capsys) -> None:
    entry = {"kind": "router", "epoch": 1, "step": 5, "gate_entropy_max": 1.792, "layers": [{"layer": 0}]}
    stats = {"gate_entropy": 1.2, "logit_std": 0.5, "top1_weight": 0.7, "top1_changed": None}
    entry["layers"][0]["satellite"] = {**stats, "top1_share": [0.5, 0.5, 0, 0, 0, 0]}
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"kind": "train", "step": 1}) + "\n" + json.dumps(entry) + "\n")
    assert main(["routers", str(tmp_path / "metrics.jsonl")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "satellite" in out[1] and "1.200/1.792" in out[1] and "0.50 0.50 0.00" in out[1]
    val = {"kind": "val", "step": 5, "n": 200, "acc@0.5": 0.3, "acc@0.25": 0.4, "edge_acc@0.5": 0.2}
    with (tmp_path / "metrics.jsonl").open("a") as handle:
        handle.write(json.dumps(val) + "\n")
    assert main(["routers", str(tmp_path / "metrics.jsonl"), "--plot", str(tmp_path / "run.png")]) == 0
    with Image.open(tmp_path / "run.png") as picture:  # the curves a person looks at
        assert picture.format == "PNG" and picture.width > 1000
    assert main(["routers", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
