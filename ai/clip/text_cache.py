"""A bounded LRU cache of text embeddings: zero-shot labels and prompt templates repeat
on every frame, and a text's embedding never changes while the same weights are loaded."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from prometheus_client import CollectorRegistry, Counter, Gauge

from ai.runtime.families.hf_clip import TextEmbedding


class TextEmbeddingCache:
    """Keyed by (weights generation, text): a reload (new weights) misses every old entry."""

    def __init__(self, capacity: int, registry: CollectorRegistry, prefix: str) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, TextEmbedding] = OrderedDict()
        self.hits = Counter(
            f"{prefix}_text_cache_hits_total", "Text embeddings answered from the cache", registry=registry
        )
        self.misses = Counter(
            f"{prefix}_text_cache_misses_total", "Text embeddings that needed the text tower", registry=registry
        )
        self.size = Gauge(f"{prefix}_text_cache_entries", "Text embeddings held in the cache", registry=registry)

    def get(self, key: Hashable) -> TextEmbedding | None:
        found = self._entries.get(key)
        if found is None:
            self.misses.inc()
            return None
        self._entries.move_to_end(key)
        self.hits.inc()
        return found

    def put(self, key: Hashable, value: TextEmbedding) -> None:
        if self.capacity <= 0:
            return
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        self.size.set(len(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
