"""Backbone features of reference windows, kept between clicks: the reference does not depend on the click, so a
second click on the same window (same model, same basemap, same window) skips the reference backbone, the larger
part of a forward pass. Bounded in bytes; the least recently used entries go first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

import torch


class ReferenceFeatureCache:
    """Features per caller-chosen key. The key must change whenever the pixels could: e.g. (basemap id, the basemap
    file's hash, window origin and side). One cache per loaded model, so a new model version starts empty."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.entries: OrderedDict[Hashable, list[torch.Tensor]] = OrderedDict()
        self.bytes = 0
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> list[torch.Tensor] | None:
        features = self.entries.get(key)
        if features is None:
            self.misses += 1
            return None
        self.hits += 1
        self.entries.move_to_end(key)
        return features

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0

    def put(self, key: Hashable, features: list[torch.Tensor]) -> None:
        """Keep `features` (each level (1, C, H, W), owning its memory); evict the oldest past max_bytes."""
        size = sum(level.numel() * level.element_size() for level in features)
        if size > self.max_bytes:
            return
        if key in self.entries:
            self.bytes -= _size(self.entries.pop(key))
        self.entries[key] = features
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= _size(evicted)


def _size(features: list[torch.Tensor]) -> int:
    return sum(level.numel() * level.element_size() for level in features)
