"""Raw outputs of the families, before a service turns them into its contract."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ai.contracts.images import Box


@dataclass(frozen=True)
class Detection:
    label: str
    class_id: int
    confidence: float
    box: Box
    keypoints: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, confidence)


@dataclass(frozen=True)
class Classification:
    """Class probabilities of one image, best first."""

    labels: list[str]
    probabilities: list[float]

    @property
    def top(self) -> tuple[str, float]:
        return self.labels[0], self.probabilities[0]


@dataclass(frozen=True)
class DepthMap:
    """Depth per pixel at the input's size, larger = farther: metres when ``is_metric``,
    else relative depth normalised to 0 (nearest) .. 1 (farthest)."""

    values: np.ndarray
    is_metric: bool
