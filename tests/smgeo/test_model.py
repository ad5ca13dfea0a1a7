import pytest
import torch

from smgeo.config import load_config, preset
from smgeo.decode import decode_top_k
from smgeo.model import build_model


def tiny_inputs(config, batch: int = 2, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, 3, *config.query_size, generator=generator)
    reference = torch.randn(batch, 3, config.reference_size, config.reference_size, generator=generator)
    click = torch.tensor([[30.0, 40.0]] * batch)
    return query, reference, click


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    config = preset("tiny").model
    return config, build_model(config).eval()


def test_tiny_model_output_shapes(tiny_model) -> None:
    config, model = tiny_model
    out = model(*tiny_inputs(config))
    side = config.reference_size // 8
    assert out["heatmap"].shape == (2, 1, side, side)
    assert out["size"].shape == (2, 2, side, side) and out["offset"].shape == (2, 2, side, side)
    assert out["similarity"].shape == (2, config.reference_size // 16, config.reference_size // 16)
    assert len(out["aux"]) == config.encoder.num_layers
    choice = out["aux"][0]["choice"]
    assert choice["reference_fine"].shape == (2, 16, 16) and choice["query_fine"].shape == (2, 8, 8)
    assert out["offset"].min() >= 0 and out["offset"].max() <= 1


def test_the_click_changes_the_output(tiny_model) -> None:
    config, model = tiny_model
    query, reference, _ = tiny_inputs(config, batch=1)
    a = model(query, reference, torch.tensor([[10.0, 10.0]]))["heatmap"]
    b = model(query, reference, torch.tensor([[110.0, 100.0]]))["heatmap"]
    assert (a - b).abs().max() > 1e-4


def test_the_query_changes_the_output(tiny_model) -> None:
    config, model = tiny_model
    query, reference, click = tiny_inputs(config, batch=1)
    a = model(query, reference, click)["heatmap"]
    b = model(torch.randn_like(query), reference, click)["heatmap"]
    assert (a - b).abs().max() > 1e-4


def test_the_query_agnostic_ablation_ignores_query_and_click() -> None:
    config = load_config("tiny", ["model.query_agnostic=true"]).model
    model = build_model(config).eval()
    query, reference, click = tiny_inputs(config, batch=1)
    a = model(query, reference, click)["heatmap"]
    b = model(torch.randn_like(query), reference, click + 50)["heatmap"]
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("override", ["model.moe.ffn=dense", "model.moe.router=shared", "model.head.stride=16"])
def test_ablation_variants_build_and_run(override: str) -> None:
    config = load_config("tiny", [override]).model
    out = build_model(config)(*tiny_inputs(config, batch=1))
    assert out["heatmap"].shape[-1] == config.reference_size // config.head.stride


def test_decode_finds_the_planted_peak_and_its_box() -> None:
    heatmap = torch.full((1, 1, 16, 16), -8.0)
    heatmap[0, 0, 5, 9] = 6.0
    heatmap[0, 0, 12, 2] = 3.0
    size = torch.full((1, 2, 16, 16), torch.log(torch.tensor(4.0)).item())
    offset = torch.full((1, 2, 16, 16), 0.5)
    boxes, scores = decode_top_k(heatmap, size, offset, stride=8, top_k=3)
    torch.testing.assert_close(boxes[0, 0], torch.tensor([60.0, 28.0, 92.0, 60.0]))
    assert scores[0, 0] > scores[0, 1] > scores[0, 2]
    torch.testing.assert_close(boxes[0, 1], torch.tensor([4.0, 84.0, 36.0, 116.0]))


def test_localize_returns_top_k_boxes_in_input_pixels(tiny_model) -> None:
    config, model = tiny_model
    out = model.localize(*tiny_inputs(config), top_k=5)
    assert out["boxes"].shape == (2, 5, 4) and out["scores"].shape == (2, 5)
    assert (out["scores"][:, :-1] >= out["scores"][:, 1:]).all()


@pytest.mark.slow
def test_swin_t_at_paper_sizes_gives_a_stride_8_map_of_the_1024_reference() -> None:
    config = preset("swin_t").model
    model = build_model(config).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 256, 256), torch.randn(1, 3, 1024, 1024), torch.tensor([[128.0, 128.0]]))
    assert out["heatmap"].shape == (1, 1, 128, 128)
    assert out["aux"][0]["choice"]["reference_fine"].shape == (1, 64, 64)
    assert out["aux"][0]["choice"]["query_fine"].shape == (1, 16, 16)
    assert sum(p.numel() for p in model.parameters()) > 25e6


def shared_entries(a: torch.nn.Module, b: torch.nn.Module) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(name, a's tensor, b's tensor) of every parameter and buffer whose name exists in both models."""
    a_state, b_state = a.state_dict(), b.state_dict()
    return [(name, a_state[name], b_state[name]) for name in a_state.keys() & b_state.keys()]


@pytest.mark.parametrize("override", ["model.moe.ffn=dense", "model.moe.router=shared", "model.query_agnostic=true"])
def test_ablation_variants_of_one_seed_start_from_the_same_shared_weights(override: str) -> None:
    full = build_model(preset("tiny").model, seed=3)
    variant = build_model(load_config("tiny", [override]).model, seed=3)
    shared = shared_entries(full, variant)
    names = [name for name, *_ in shared]
    assert any(n.startswith("backbone.") for n in names) and any(n.startswith("head.") for n in names)
    assert any(".ffn.experts." in n for n in names) == (override != "model.moe.ffn=dense")
    assert [name for name, a, b in shared if not torch.equal(a, b)] == []


def test_the_shared_router_variant_lacks_only_the_second_gate() -> None:
    full = build_model(preset("tiny").model, seed=3)
    variant = build_model(load_config("tiny", ["model.moe.router=shared"]).model, seed=3)
    only_full = set(full.state_dict()) - set(variant.state_dict())
    assert only_full == {f"encoder.layers.{i}.ffn.router.gates.1.weight" for i in range(2)}


def test_different_seeds_give_different_weights_and_one_seed_the_same() -> None:
    config = preset("tiny").model
    a, b, again = build_model(config, seed=0), build_model(config, seed=1), build_model(config, seed=0)
    random_params = [name for name, p in a.named_parameters() if p.numel() > 1 and p.std() > 0]
    b_params, again_params = dict(b.named_parameters()), dict(again.named_parameters())
    a_params = dict(a.named_parameters())
    assert [n for n in random_params if torch.equal(a_params[n], b_params[n])] == []
    assert all(torch.equal(a_params[n], again_params[n]) for n in a_params)


def test_without_a_seed_the_global_seed_decides_the_weights_and_is_left_usable() -> None:
    config = preset("tiny").model
    torch.manual_seed(5)
    a, after_a = build_model(config), torch.rand(3)
    torch.manual_seed(5)
    b, after_b = build_model(config), torch.rand(3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    torch.testing.assert_close(after_a, after_b)
