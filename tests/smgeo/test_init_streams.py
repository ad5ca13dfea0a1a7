import torch

from smgeo.init_streams import init_stream, stream_seed


def test_a_stream_depends_on_seed_and_name_only_and_leaves_the_global_generator_alone() -> None:
    torch.manual_seed(0)
    expected_next = torch.rand(2)
    torch.manual_seed(0)
    with init_stream(7, "head"):
        a = torch.randn(4)
    with init_stream(7, "head"):
        b = torch.randn(4)
    with init_stream(7, "backbone"):
        c = torch.randn(4)
    torch.testing.assert_close(torch.rand(2), expected_next)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert stream_seed(7, "head") != stream_seed(8, "head") and 0 <= stream_seed(7, "head") < 2**63
