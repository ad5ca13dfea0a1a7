import pytest
import torch

from smgeo.moe import SparseMoE


def make_moe(**kwargs) -> SparseMoE:
    torch.manual_seed(0)
    return SparseMoE(dim=16, hidden=32, num_experts=6, top_k=2, **kwargs)


def tokens(n: int = 50) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(n, 16, generator=generator)
    source = torch.arange(n) % 2
    scale = (torch.arange(n) // 2) % 2
    return x, source, scale


def test_top_k_gate_weights_are_renormalised_to_sum_to_one() -> None:
    moe = make_moe()
    routing = moe.router(*tokens())
    assert routing.experts_tk.shape == (50, 2)
    torch.testing.assert_close(routing.weights_tk.sum(-1), torch.ones(50))
    assert routing.logits_te.dtype == torch.float32
    assert (routing.experts_tk[:, 0] != routing.experts_tk[:, 1]).all()


def test_router_math_stays_fp32_under_bf16_autocast() -> None:
    moe = make_moe()
    x, source, scale = tokens()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        routing = moe.router(x.bfloat16(), source, scale)
    assert routing.probs_te.dtype == torch.float32 and routing.weights_tk.dtype == torch.float32


def test_sparse_dispatch_equals_the_dense_reference_under_the_same_routing() -> None:
    moe = make_moe()
    x, source, scale = tokens()
    sparse, _ = moe(x, source, scale)
    moe.dispatch = "dense"
    dense, _ = moe(x, source, scale)
    torch.testing.assert_close(sparse, dense, rtol=1e-5, atol=1e-6)


def test_view_specific_routers_route_the_same_token_differently_by_view() -> None:
    moe = make_moe()
    x = torch.randn(1, 16).repeat(2, 1)
    routing = moe.router(x, torch.tensor([0, 1]), torch.tensor([0, 0]))
    assert not torch.equal(routing.logits_te[0], routing.logits_te[1])
    shared = make_moe(shared_router=True)
    routing = shared.router(x, torch.tensor([0, 1]), torch.tensor([0, 0]))
    torch.testing.assert_close(routing.logits_te[0], routing.logits_te[1])


def test_the_router_sees_the_scale_of_a_token() -> None:
    moe = make_moe()
    x = torch.randn(1, 16).repeat(2, 1)
    routing = moe.router(x, torch.tensor([0, 0]), torch.tensor([0, 1]))
    assert not torch.equal(routing.logits_te[0], routing.logits_te[1])


@pytest.mark.parametrize("term", ["balance", "entropy", "z"])
def test_aux_terms_have_non_zero_gradients_on_the_router(term: str) -> None:
    moe = make_moe()
    _, aux = moe(*tokens())
    aux[term].backward()
    grads = [gate.weight.grad for gate in moe.router.gates]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_load_is_a_distribution_over_experts_and_choice_is_per_token() -> None:
    moe = make_moe()
    _, aux = moe(*tokens())
    assert aux["load"].shape == (6,)
    torch.testing.assert_close(aux["load"].sum(), torch.tensor(1.0))
    assert aux["choice"].shape == (50,) and aux["choice"].max() < 6


def test_an_expert_without_tokens_still_gets_a_gradient() -> None:
    moe = make_moe()
    x, source, scale = tokens()
    x = x.abs()  # positive inputs, so a strongly negative gate row is never chosen
    with torch.no_grad():
        moe.router.scale_embed.weight.zero_()
        for gate in moe.router.gates:
            gate.weight[5] = -10.0
    out, aux = moe(x, source, scale)
    assert aux["load"][5] == 0
    out.sum().backward()
    weight = moe.experts[5][0].weight
    assert weight.grad is not None and torch.count_nonzero(weight.grad) == 0


def test_capacity_factor_drops_overflow_assignments() -> None:
    moe = make_moe(capacity_factor=0.5)
    x, source, scale = tokens(60)
    token_a, expert_a, _ = moe._assignments(moe.router(x, source, scale))
    capacity = int(0.5 * 60 * 2 / 6)
    assert torch.bincount(expert_a, minlength=6).max() <= capacity
    assert len(token_a) < 120


def test_a_shared_expert_runs_on_every_token_beside_the_routed_ones() -> None:
    moe = SparseMoE(dim=16, hidden=32, num_experts=6, top_k=1, shared_expert=True, gate_weights="softmax")
    x, source, scale = tokens()
    out, _ = moe(x, source, scale)
    shared = moe.shared_expert(x)
    routed = moe._sparse(x, moe.router(x, source, scale))
    torch.testing.assert_close(out, routed + shared)
    assert not torch.allclose(out, routed)


def test_with_top_1_softmax_gate_weights_the_router_learns_from_the_task_and_renormalised_ones_do_not() -> None:
    grads = {}
    for gate_weights in ("softmax", "renormalized"):
        torch.manual_seed(0)
        moe = SparseMoE(dim=16, hidden=32, num_experts=6, top_k=1, gate_weights=gate_weights)
        out, _ = moe(*tokens())
        out.pow(2).sum().backward()  # a task loss only: no auxiliary term
        grads[gate_weights] = moe.router.gates[0].weight.grad
    assert grads["softmax"] is not None and grads["softmax"].abs().sum() > 0
    # renormalised, a single weight is p / p = 1: what reaches the router is round-off
    assert grads["renormalized"] is None or grads["renormalized"].abs().sum() < 1e-3 * grads["softmax"].abs().sum()


def test_an_unknown_gate_weighting_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="gate_weights"):
        SparseMoE(dim=16, hidden=32, num_experts=6, top_k=2, gate_weights="sigmoid")
