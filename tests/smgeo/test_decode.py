import torch

from smgeo.decode import decode_top_k


def test_a_diverging_size_channel_still_decodes_finite_boxes() -> None:
    heatmap = torch.full((1, 1, 8, 8), -8.0)
    heatmap[0, 0, 3, 4] = 6.0
    size = torch.full((1, 2, 8, 8), 200.0)  # log-cells: exp(200) overflows even fp32
    size[0, 1] = -200.0
    boxes, _ = decode_top_k(heatmap, size, torch.zeros(1, 2, 8, 8), stride=8, top_k=2)
    assert torch.isfinite(boxes).all()
    width, height = boxes[0, 0, 2] - boxes[0, 0, 0], boxes[0, 0, 3] - boxes[0, 0, 1]
    assert width > 1000 * 8 and 0 < height < 1  # huge and tiny, but boxes
