"""SMGeo: shared Swin backbone -> click prompt -> GMoE cross-view encoder -> query-guided fusion -> head."""

from __future__ import annotations

import torch
from torch import nn

from smgeo.backbone import SwinBackbone, build_backbone
from smgeo.config import ModelConfig
from smgeo.cross_view_encoder import CrossViewEncoder, GMoELayer, build_ffn
from smgeo.decode import decode_top_k
from smgeo.fusion import QueryGuidedFusion
from smgeo.head import LocalizationHead
from smgeo.init_streams import draw_seed, init_stream
from smgeo.positional import FourierPositionEncoding
from smgeo.prompt_encoder import ClickPromptEncoder


class SMGeo(nn.Module):
    """Click-promptable cross-view localization.

    forward(query (B, 3, Hq, Wq), reference (B, 3, S, S), click (B, 2) query pixels x then y) returns a dict:
    heatmap (B, 1, H, W) logits, size (B, 2, H, W) log-cells, offset (B, 2, H, W), similarity (B, Hf, Wf) or None,
    aux (one dict per encoder layer: balance, z, entropy, load, choice maps) and stride (pixels per output cell).
    """

    def __init__(
        self,
        backbone: SwinBackbone,
        prompt: ClickPromptEncoder | None,
        encoder: CrossViewEncoder,
        fusion: QueryGuidedFusion | None,
        head: LocalizationHead,
        top_k: int = 5,
    ) -> None:
        super().__init__()
        self.backbone, self.prompt, self.encoder, self.fusion, self.head = backbone, prompt, encoder, fusion, head
        self.top_k = top_k
        self.encoder_stride = backbone.strides[1]  # the fine grid the encoder and the fusion work on

    @property
    def query_agnostic(self) -> bool:
        return self.prompt is None

    def encode_reference(self, reference: torch.Tensor) -> list[torch.Tensor]:
        """The reference's backbone features (strides 8, 16, 32). They do not depend on the click: a predictor may
        keep them and pass them back as `reference_features`."""
        return self.backbone(reference)

    def forward(
        self,
        query: torch.Tensor,
        reference: torch.Tensor,
        click: torch.Tensor,
        reference_features: list[torch.Tensor] | None = None,
    ) -> dict:
        ref_features = self.encode_reference(reference) if reference_features is None else reference_features
        similarity = None
        if self.query_agnostic:
            ref_tokens, hw, _, aux = self.encoder(ref_features[1:], None, None, None)
        else:
            query_features = self.backbone(query)
            click_token, prior = self.prompt(click, tuple(query.shape[-2:]), tuple(query_features[1].shape[-2:]))
            dense = self.prompt.dense_embedding(prior).to(query_features[1].dtype)
            ref_tokens, hw, query_tokens, aux = self.encoder(ref_features[1:], query_features[1:], click_token, dense)
            ref_tokens, similarity, _ = self.fusion(ref_tokens, query_tokens, click_token.to(ref_tokens.dtype), prior)
            similarity = similarity.view(-1, *hw)
        outputs = self.head(ref_tokens, hw, ref_features[0], similarity)
        outputs.update(similarity=similarity, similarity_stride=self.encoder_stride, aux=aux, stride=self.head.stride)
        return outputs

    @torch.no_grad()
    def localize(
        self,
        query: torch.Tensor,
        reference: torch.Tensor,
        click: torch.Tensor,
        top_k: int | None = None,
        reference_features: list[torch.Tensor] | None = None,
    ) -> dict:
        """Inference: boxes (B, K, 4) in reference input pixels, scores (B, K), best first, plus the raw outputs."""
        outputs = self(query, reference, click, reference_features)
        boxes, scores = decode_top_k(
            outputs["heatmap"], outputs["size"], outputs["offset"], outputs["stride"], top_k or self.top_k
        )
        return {"boxes": boxes, "scores": scores, **outputs}


def build_layer(config: ModelConfig, seed: int, index: int) -> GMoELayer:
    """Encoder layer `index`: its FFN (experts or dense) and its attention parts each from a stream of their own."""
    enc, name = config.encoder, f"encoder.layers.{index}"
    with init_stream(seed, f"{name}.ffn"):
        ffn = build_ffn(enc.dim, config.moe)
    with init_stream(seed, f"{name}.attention"):
        return GMoELayer(enc.dim, enc.num_heads, enc.window_size, ffn, enc.dropout, config.query_agnostic)


def build_head(config: ModelConfig, backbone: SwinBackbone) -> LocalizationHead:
    enc, head = config.encoder, config.head
    return LocalizationHead(
        enc.dim, head.hidden, head.stride, head.num_layers, enc.num_heads, enc.window_size, backbone.channels[0]
    )


def build_model(config: ModelConfig, seed: int | None = None, load_pretrained: bool = True) -> SMGeo:
    """Each component draws its initial weights from its own stream, seeded from (seed, component name), so
    ablation variants built with one seed start with equal weights in the components they share.
    seed None: one draw from torch's CPU generator (a `torch.manual_seed` before still decides the weights).
    load_pretrained False: the backbone's weights file is not read (a model about to get a checkpoint's weights)."""
    seed = draw_seed() if seed is None else seed
    enc, agnostic = config.encoder, config.query_agnostic
    with init_stream(seed, "backbone"):
        backbone = build_backbone(config.backbone, config.reference_size, load_pretrained)
    with init_stream(seed, "position"):
        position = FourierPositionEncoding(enc.dim, config.prompt.fourier_scale)
    layers = [build_layer(config, seed, index) for index in range(enc.num_layers)]
    with init_stream(seed, "encoder"):
        encoder = CrossViewEncoder((backbone.channels[1], backbone.channels[2]), enc.dim, layers, position)
    with init_stream(seed, "prompt"):
        prompt = None if agnostic else ClickPromptEncoder(enc.dim, position, config.prompt.prior_sigma)
    with init_stream(seed, "fusion"):
        fusion = None if agnostic else QueryGuidedFusion(enc.dim)
    with init_stream(seed, "head"):
        head = build_head(config, backbone)
    return SMGeo(backbone, prompt, encoder, fusion, head, top_k=config.head.top_k)
