import math

import torch

from smgeo.config import LossConfig
from smgeo.losses import SMGeoCriterion, focal_heatmap_loss, heatmap_targets


def test_focal_loss_hand_computed_on_two_cells() -> None:
    logits = torch.tensor([0.0, 0.0]).view(1, 1, 1, 2)  # p = 0.5 on both cells
    target = torch.tensor([1.0, 0.5]).view(1, 1, 1, 2)  # a positive, and a negative near it
    positive = -(0.5**2) * math.log(0.5)
    negative = -((1 - 0.5) ** 4) * (0.5**2) * math.log(0.5)
    torch.testing.assert_close(focal_heatmap_loss(logits, target), torch.tensor(positive + negative))


def test_focal_loss_is_near_zero_for_a_confident_correct_map() -> None:
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 1, 2] = 1.0
    logits = torch.full((1, 1, 4, 4), -12.0)
    logits[0, 0, 1, 2] = 12.0
    assert focal_heatmap_loss(logits, target).item() < 1e-4


def test_heatmap_target_peaks_at_the_box_centre_cell() -> None:
    boxes = torch.tensor([[40.0, 16.0, 72.0, 48.0]])  # centre (56, 32) -> cell (7, 4) at stride 8
    target = heatmap_targets(boxes, stride=8, grid_hw=(8, 10))
    assert target.shape == (1, 1, 8, 10)
    assert target[0, 0, 4, 7] == 1.0 and (target == 1.0).sum() == 1
    assert target[0, 0, 4, 6] < 1.0


def fake_outputs(box_cells: tuple[int, int], size_cells: float, offset: float) -> dict:
    heatmap = torch.full((1, 1, 8, 8), -5.0)
    size = torch.full((1, 2, 8, 8), math.log(size_cells))
    off = torch.full((1, 2, 8, 8), offset)
    return {"heatmap": heatmap, "size": size, "offset": off, "stride": 8, "aux": []}


def test_box_losses_vanish_when_the_prediction_at_the_centre_is_exact() -> None:
    criterion = SMGeoCriterion(LossConfig())
    boxes = torch.tensor([[20.0, 20.0, 36.0, 36.0]])  # centre 28 -> cell 3, offset 0.5, size 2 cells
    losses = criterion(fake_outputs((3, 3), 2.0, 0.5), boxes)
    assert losses["offset"].item() < 1e-6 and losses["size"].item() < 1e-5 and losses["giou"].item() < 1e-5
    wrong = criterion(fake_outputs((3, 3), 4.0, 0.0), boxes)
    assert wrong["offset"] > 0.4 and wrong["size"] > 1.9 and wrong["giou"] > 0.3


def test_entropy_weight_ramps_up_over_its_warmup() -> None:
    criterion = SMGeoCriterion(LossConfig(moe_entropy=0.01, moe_entropy_warmup_steps=100))
    assert criterion.weights(0)["moe_entropy"] == 0.0
    assert criterion.weights(50)["moe_entropy"] == 0.005
    assert criterion.weights(1000)["moe_entropy"] == 0.01


def test_box_losses_stay_finite_when_the_size_channel_diverges() -> None:
    outputs = fake_outputs((3, 3), 2.0, 0.5)
    outputs["size"] = torch.full((1, 2, 8, 8), 200.0, requires_grad=True)  # log-cells: exp(200) is inf in fp32
    losses = SMGeoCriterion(LossConfig())(outputs, torch.tensor([[20.0, 20.0, 36.0, 36.0]]))
    assert all(torch.isfinite(value) for value in losses.values())
    losses["total"].backward()
    assert torch.isfinite(outputs["size"].grad).all()
