import torch

from smgeo.fusion import QueryGuidedFusion


def fusion_inputs(dim: int = 32) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    reference = torch.randn(2, 64, dim, generator=generator)
    query = torch.randn(2, 16, dim, generator=generator)
    click = torch.randn(2, 1, dim, generator=generator)
    prior = torch.rand(2, 16, generator=generator)
    return reference, query, click, prior


def test_the_similarity_logits_are_fp32_under_bf16_autocast() -> None:
    torch.manual_seed(0)
    fusion = QueryGuidedFusion(32)
    reference, query, click, prior = fusion_inputs()
    _, exact, _ = fusion(reference, query, click, prior)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fused, similarity, _ = fusion(reference.bfloat16(), query, click, prior)
    assert similarity.dtype == torch.float32 and fused.dtype == torch.bfloat16
    # only the query embedding's bf16 matmuls differ (~0.02 here); bf16 logits would be off by twice that
    torch.testing.assert_close(similarity, exact, atol=0.025, rtol=0)
