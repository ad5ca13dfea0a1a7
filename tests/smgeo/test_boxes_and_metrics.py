import torch

from smgeo.boxes import box_iou, generalized_box_iou
from smgeo.metrics import edge_clicks, evaluate_boxes, sample_scores, summarize_by_click


def test_iou_of_hand_computed_boxes_without_plus_one() -> None:
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    b = torch.tensor([[5.0, 0.0, 15.0, 10.0]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([50.0 / 150.0]))
    torch.testing.assert_close(box_iou(a, a), torch.tensor([1.0]))


def test_a_right_sized_box_at_the_wrong_place_scores_zero() -> None:
    truth = torch.tensor([[100.0, 100.0, 150.0, 140.0]])
    same_size_elsewhere = torch.tensor([[600.0, 700.0, 650.0, 740.0]])
    metrics = evaluate_boxes(same_size_elsewhere, truth)
    assert metrics["mIoU"] == 0.0 and metrics["acc@0.25"] == 0.0 and metrics["acc@0.5"] == 0.0
    assert metrics["center_px"] > 700


def test_accuracy_thresholds_are_strict() -> None:
    truth = torch.tensor([[0.0, 0.0, 100.0, 100.0]])
    half = torch.tensor([[0.0, 0.0, 100.0, 50.0]])  # IoU exactly 0.5
    metrics = evaluate_boxes(half, truth)
    assert metrics["mIoU"] == 0.5
    assert metrics["acc@0.5"] == 0.0 and metrics["acc@0.25"] == 1.0


def test_ground_truth_is_clamped_to_the_1024_frame() -> None:
    truth = torch.tensor([[1000.0, 1000.0, 1100.0, 1100.0]])  # spills over the frame edge
    clamped = torch.tensor([[1000.0, 1000.0, 1023.0, 1023.0]])
    assert sample_scores(clamped, truth)["iou"].item() == 1.0


def test_miou_averages_over_all_samples_including_misses() -> None:
    truth = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    pred = torch.tensor([[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0]])
    metrics = evaluate_boxes(pred, truth)
    assert metrics["mIoU"] == 0.5 and metrics["acc@0.5"] == 0.5 and metrics["n"] == 2


def test_giou_is_negative_for_disjoint_boxes_and_one_for_identical() -> None:
    a = torch.tensor([0.0, 0.0, 10.0, 10.0])
    b = torch.tensor([20.0, 0.0, 30.0, 10.0])
    torch.testing.assert_close(generalized_box_iou(a, b), torch.tensor(-1.0 / 3.0))
    torch.testing.assert_close(generalized_box_iou(a, a), torch.tensor(1.0))


def test_clicks_in_the_outer_band_are_scored_on_their_own() -> None:
    truth = torch.tensor([[0.0, 0.0, 100.0, 100.0]] * 4)
    pred = torch.tensor([[0.0, 0.0, 100.0, 100.0]] * 2 + [[500.0, 500.0, 600.0, 600.0]] * 2)
    clicks = torch.tensor([[0.5, 0.5], [0.3, 0.7], [0.1, 0.5], [0.6, 0.95]])  # the last two in the outer band
    scores = sample_scores(pred, truth)
    metrics = summarize_by_click(scores["iou"], scores["center_px"], clicks)
    assert metrics["acc@0.5"] == 0.5 and metrics["n"] == 4
    assert metrics["edge_acc@0.5"] == 0.0 and metrics["edge_n"] == 2
    assert edge_clicks(clicks).tolist() == [False, False, True, True]
    central = summarize_by_click(scores["iou"][:2], scores["center_px"][:2], clicks[:2])
    assert "edge_n" not in central
