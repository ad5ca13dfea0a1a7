"""Inference: load a checkpoint once, then localize clicks. Images in (numpy HxWx3 uint8 or PIL), boxes out.

Boxes are in the pixels of the reference image as given. A reference larger than the model input can be
searched with sliding windows (`predict_sliding`): every window is localized and the best peak wins.

How the forward pass runs is `InferenceOptions`: on CUDA bf16 autocast (the router, the fusion's similarity and
the box decoding stay fp32 inside the model), TF32 for what runs in fp32, and channels-last convolutions; on the
CPU fp32 with the linear layers on oneDNN (smgeo/cpu_fusion.py): bf16 is faster on a CPU with bf16 instructions
but changes the outputs (docs/benchmarks.md). `torch.compile` is an option, off by default: it pays on CUDA, and
its first call takes tens of seconds.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from smgeo.allocator import keep_freed_memory
from smgeo.checkpoint import load_checkpoint
from smgeo.config import SMGeoConfig
from smgeo.cpu_fusion import fuse_for_cpu
from smgeo.data.transforms import build_transforms
from smgeo.decode import decode_top_k
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


@dataclass(frozen=True)
class InferenceOptions:
    """How the model runs. precision: "auto" (bf16 on CUDA, fp32 on the CPU), "fp32" or "bf16" (autocast)."""

    precision: str = "auto"
    tf32: bool = True  # CUDA: TF32 tensor cores for fp32 matrix products and convolutions
    channels_last: bool = True  # CUDA: NHWC convolutions (the patch embedding and the head)
    compile: bool = False  # torch.compile the model (first call slow; pays on CUDA)
    fuse_cpu: bool = True  # CPU: linear layers (and each MLP's GELU) through oneDNN's kernels (cpu_fusion.py)

    def __post_init__(self) -> None:
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {self.precision!r}")

    def bf16(self, device: torch.device) -> bool:
        return self.precision == "bf16" or (self.precision == "auto" and device.type == "cuda")

    def nhwc(self, device: torch.device) -> bool:
        return self.channels_last and device.type == "cuda"


def prepare_model(model: torch.nn.Module, options: InferenceOptions, device: torch.device) -> torch.nn.Module:
    """`model` on `device` in eval mode, its linear layers on oneDNN on the CPU, channels-last on CUDA when asked,
    compiled when asked."""
    model = model.to(device).eval()
    if options.fuse_cpu and device.type == "cpu":
        fuse_for_cpu(model)
    if options.nhwc(device):
        model = model.to(memory_format=torch.channels_last)
    return torch.compile(model, dynamic=False) if options.compile else model


def in_model_layout(
    tensors: tuple[torch.Tensor, ...], options: InferenceOptions, device: torch.device
) -> tuple[torch.Tensor, ...]:
    """The inputs in the memory layout `prepare_model` gave the model: images (4-D) channels-last on CUDA when
    asked, everything else as it is."""
    if not options.nhwc(device):
        return tensors
    return tuple(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in tensors)


@contextmanager
def inference_context(options: InferenceOptions, device: torch.device) -> Iterator[None]:
    """no_grad, autocast as `options` say, and TF32 on CUDA for the duration (the global flags restored after)."""
    tf32 = options.tf32 and device.type == "cuda"
    previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = (tf32 or flag for flag in previous)
    try:
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=options.bf16(device)):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous


class Predictor:
    """A loaded model. Thread-compatible for reads; load once per process and reuse."""

    def __init__(
        self,
        checkpoint: str | Path,
        device: str | None = None,
        reference_cache_mb: float = REFERENCE_CACHE_MB,
        options: InferenceOptions | None = None,
    ) -> None:
        payload = load_checkpoint(checkpoint)
        self.config: SMGeoConfig = payload["config"]
        self.metrics = payload.get("metrics", {})
        self.device = pick_device(device)
        if self.device.type == "cpu":
            keep_freed_memory()  # large activations reuse freed memory (smgeo/allocator.py)
        self.options = options or InferenceOptions()
        model = build_model(self.config.model, load_pretrained=False)  # the weights are the checkpoint's
        model.load_state_dict(payload["model"])
        self.model = model.to(self.device).eval()
        self.forward = prepare_model(model, self.options, self.device)  # maybe compiled; shares the weights
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
        query, reference = in_model_layout((query, reference), self.options, self.device)
        with inference_context(self.options, self.device):
            features = self._reference_features(reference, reference_keys) if reference_keys else None
            outputs = self.forward(query, reference, click, reference_features=features)
        boxes_k, scores_k = decode_top_k(
            outputs["heatmap"], outputs["size"], outputs["offset"], outputs["stride"], top_k or self.top_k
        )
        heatmaps = outputs["heatmap"].float().sigmoid()[:, 0].cpu().numpy()
        input_side = self.config.model.reference_size
        predictions = []
        for i, item in enumerate(prepared):
            width, height = item["reference_size"]
            scale = torch.tensor([width, height, width, height], dtype=torch.float32) / input_side
            boxes = (boxes_k[i].cpu() * scale).tolist()
            scores = scores_k[i].cpu().tolist()
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
