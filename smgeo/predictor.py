"""Inference: load a checkpoint once, then localize clicks. Images in (numpy HxWx3 uint8 or PIL), boxes out.

Boxes are in the pixels of the reference image as given. A reference larger than the model input can be
searched with sliding windows (`predict_sliding`): every window is localized and the best peak wins.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from smgeo.checkpoint import load_checkpoint
from smgeo.config import SMGeoConfig
from smgeo.data.transforms import build_transforms
from smgeo.model import build_model
from smgeo.reference_cache import ReferenceFeatureCache
from smgeo.windows import sliding_squares

ImageLike = np.ndarray | Image.Image
REFERENCE_CACHE_MB = 256.0  # reference features kept between clicks (a swin_t 1024-px window: about 11 MB)


@dataclass
class Prediction:
    box: list[float]  # x1, y1, x2, y2 in reference pixels
    score: float  # heatmap peak probability in [0, 1]
    candidates: list[dict]  # [{"box": [...], "score": s}] best first (the first is `box`)
    heatmap: np.ndarray  # (H, W) float32 probabilities over `window`
    window: list[float]  # x1, y1, x2, y2 of the reference region the heatmap covers
    latency_ms: float = 0.0
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "box": self.box,
            "score": self.score,
            "candidates": self.candidates,
            "latency_ms": round(self.latency_ms, 2),
        }


def to_pil(image: ImageLike) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 image, got shape {array.shape} and dtype {array.dtype}")
    return Image.fromarray(array)


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Predictor:
    """A loaded model. Thread-compatible for reads; load once per process and reuse."""

    def __init__(
        self, checkpoint: str | Path, device: str | None = None, reference_cache_mb: float = REFERENCE_CACHE_MB
    ) -> None:
        payload = load_checkpoint(checkpoint)
        self.config: SMGeoConfig = payload["config"]
        self.metrics = payload.get("metrics", {})
        self.device = pick_device(device)
        self.model = build_model(self.config.model, load_pretrained=False)  # the weights are the checkpoint's
        self.model.load_state_dict(payload["model"])
        self.model.to(self.device).eval()
        model_cfg = self.config.model
        self.transform = build_transforms(model_cfg.query_size, model_cfg.reference_size, train=False)
        self.top_k = model_cfg.head.top_k
        self.reference_cache = ReferenceFeatureCache(int(reference_cache_mb * 2**20))

    def _prepare(self, query: ImageLike, reference: ImageLike, click: tuple[float, float]) -> dict:
        query_img, reference_img = to_pil(query), to_pil(reference)
        x, y = float(click[0]), float(click[1])
        if not (np.isfinite(x) and np.isfinite(y)) or not (0 <= x < query_img.width and 0 <= y < query_img.height):
            raise ValueError(f"click ({x}, {y}) is outside the {query_img.width}x{query_img.height} query image")
        sample = {"query": query_img, "reference": reference_img, "click": (x, y), "box": (0.0, 0.0, 1.0, 1.0)}
        prepared = self.transform(sample, None)
        prepared["reference_size"] = reference_img.size
        return prepared

    @torch.no_grad()
    def predict_batch(
        self,
        items: list[tuple[ImageLike, ImageLike, tuple[float, float]]],
        top_k: int | None = None,
        reference_keys: list[Hashable | None] | None = None,
    ) -> list[Prediction]:
        """Localize several (query, reference, click) triples in one forward pass. With `reference_keys` (one per
        item, None for none), a reference seen before under the same key reuses its backbone features."""
        started = time.perf_counter()
        prepared = [self._prepare(*item) for item in items]
        query = torch.stack([p["query"] for p in prepared]).to(self.device)
        reference = torch.stack([p["reference"] for p in prepared]).to(self.device)
        click = torch.stack([p["click"] for p in prepared]).to(self.device)
        features = self._reference_features(reference, reference_keys) if reference_keys else None
        outputs = self.model.localize(query, reference, click, top_k or self.top_k, reference_features=features)
        heatmaps = outputs["heatmap"].float().sigmoid()[:, 0].cpu().numpy()
        input_side = self.config.model.reference_size
        predictions = []
        for i, item in enumerate(prepared):
            width, height = item["reference_size"]
            scale = torch.tensor([width, height, width, height], dtype=torch.float32) / input_side
            boxes = (outputs["boxes"][i].cpu() * scale).tolist()
            scores = outputs["scores"][i].cpu().tolist()
            candidates = [{"box": b, "score": s} for b, s in zip(boxes, scores, strict=True)]
            predictions.append(
                Prediction(boxes[0], scores[0], candidates, heatmaps[i], [0.0, 0.0, float(width), float(height)])
            )
        latency = (time.perf_counter() - started) * 1000 / max(1, len(items))
        for prediction in predictions:
            prediction.latency_ms = latency
        return predictions

    def _reference_features(self, reference: torch.Tensor, keys: list[Hashable | None]) -> list[torch.Tensor]:
        """The batch's reference features: cached ones as they are, the others computed together and kept."""
        if len(keys) != reference.shape[0]:
            raise ValueError(f"{len(keys)} reference keys for {reference.shape[0]} items")
        found = [self.reference_cache.get(key) if key is not None else None for key in keys]
        missing = [i for i, features in enumerate(found) if features is None]
        if missing:
            fresh = self.model.encode_reference(reference[missing])
            for row, i in enumerate(missing):
                found[i] = [level[row : row + 1].clone() for level in fresh]
                if keys[i] is not None:
                    self.reference_cache.put(keys[i], found[i])
        return [torch.cat([features[level] for features in found]) for level in range(len(found[0]))]

    def predict(
        self, query: ImageLike, reference: ImageLike, click: tuple[float, float], top_k: int | None = None
    ) -> Prediction:
        """Localize the clicked object of `query` in `reference`."""
        started = time.perf_counter()
        prediction = self.predict_batch([(query, reference, click)], top_k)[0]
        prediction.latency_ms = (time.perf_counter() - started) * 1000
        return prediction

    def predict_sliding(
        self,
        query: ImageLike,
        reference: ImageLike,
        click: tuple[float, float],
        window: int | None = None,
        overlap: float = 0.25,
        batch_size: int = 8,
    ) -> Prediction:
        """Search a reference larger than one window: square windows of `window` pixels (default: the model's
        reference size) overlapping by `overlap`; the window with the highest peak gives the answer."""
        started = time.perf_counter()
        reference_img = to_pil(reference)
        window = min(window or self.config.model.reference_size, reference_img.width, reference_img.height)
        best: Prediction | None = None
        origins = [(round(x), round(y)) for x, y, _, _ in sliding_squares(*reference_img.size, window, overlap)]
        for start in range(0, len(origins), batch_size):
            chunk = origins[start : start + batch_size]
            crops = [reference_img.crop((x, y, x + window, y + window)) for x, y in chunk]
            for (x, y), pred in zip(chunk, self.predict_batch([(query, c, click) for c in crops]), strict=True):
                if best is None or pred.score > best.score:
                    best = shift(pred, x, y)
        assert best is not None
        best.latency_ms = (time.perf_counter() - started) * 1000
        best.extra["windows"] = len(origins)
        return best


def shift(prediction: Prediction, dx: float, dy: float) -> Prediction:
    def moved(box: list[float]) -> list[float]:
        return [box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy]

    candidates = [{"box": moved(c["box"]), "score": c["score"]} for c in prediction.candidates]
    return Prediction(
        moved(prediction.box),
        prediction.score,
        candidates,
        prediction.heatmap,
        moved(prediction.window),
        prediction.latency_ms,
    )
