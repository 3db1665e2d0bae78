"""Latency history in time buckets: pure functions over (timestamp, ms) samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from ai.contracts.model_zoo import LatencySnapshot, LatencyStats


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (as numpy's default)."""
    if not sorted_values:
        raise ValueError("no values")
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def stats_of(values: Sequence[float]) -> LatencyStats | None:
    if not values:
        return None
    ordered = sorted(values)
    return LatencyStats(
        avg_ms=round(sum(ordered) / len(ordered), 2),
        p50_ms=round(percentile(ordered, 0.50), 2),
        p95_ms=round(percentile(ordered, 0.95), 2),
        sample_count=len(ordered),
    )


def window_start(now: float, window_minutes: int, bucket_seconds: int) -> float:
    """The first bucket's start: the window's start, floored to a bucket boundary."""
    return math.floor((now - window_minutes * 60) / bucket_seconds) * bucket_seconds


def bucketize(
    samples: Sequence[tuple[float, float]], now: float, window_minutes: int, bucket_seconds: int
) -> list[LatencySnapshot]:
    """Consecutive buckets from the window's start up to the one holding ``now``;
    a bucket without samples has ``stats: null``."""
    start = window_start(now, window_minutes, bucket_seconds)
    count = int((now - start) // bucket_seconds) + 1
    buckets: list[list[float]] = [[] for _ in range(count)]
    for recorded_at, latency_ms in samples:
        index = int((recorded_at - start) // bucket_seconds)
        if 0 <= index < count:
            buckets[index].append(latency_ms)
    return [
        LatencySnapshot(timestamp=datetime.fromtimestamp(start + i * bucket_seconds, UTC), stats=stats_of(values))
        for i, values in enumerate(buckets)
    ]
