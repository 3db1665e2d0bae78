"""Model versions: which catalog row serves v1 and v2, and how ``/detect`` splits
traffic between them (``DETECTOR_TRAFFIC_SPLIT``), sticky per camera.

A camera keeps its version: its id is hashed (SHA-256, so the same on every replica and
after restarts) to a point in [0, 1) that falls in one version's share. Requests without
a camera id are split at random in the same proportions.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Mapping

from pydantic import ConfigDict

from ai.contracts.detector import Version
from ai.runtime.catalog import CatalogEntry
from ai.runtime.errors import ErrorCode, ServiceError, StartupError
from ai.runtime.model_env import path_variable_set


class DetectorEntry(CatalogEntry):
    """A detector catalog row: the version it serves, and whether it is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Version
    optional: bool = False

    @property
    def variables(self) -> str:
        """The variables that name its weights, for messages."""
        return " or ".join([*self.path_aliases, self.path_variable])


def configured(entry: DetectorEntry) -> bool:
    """An optional version is served only when its weights are named."""
    return not entry.optional or path_variable_set(entry) is not None


def not_configured(entry: DetectorEntry) -> ServiceError:
    return ServiceError(
        ErrorCode.MODEL_NOT_FOUND,
        f"model version {entry.version} is not configured; set {entry.variables} to its weights and restart",
        details={
            "version": entry.version,
            "model": entry.name,
            "variable": (entry.path_aliases or [entry.path_variable])[0],
        },
    )


class TrafficSplit:
    """Weighted choice of a version, sticky per camera id."""

    def __init__(
        self, weights: Mapping[str, float], served: Mapping[str, DetectorEntry], known: Mapping[str, DetectorEntry]
    ) -> None:
        missing = [version for version in weights if version not in served]
        if missing:
            raise StartupError(
                f"DETECTOR_TRAFFIC_SPLIT sends traffic to {', '.join(missing)}, which is not configured; "
                + "; ".join(f"set {known[v].variables} to its weights" for v in missing)
            )
        total = sum(weights.values())
        self.versions = list(weights)
        self.shares = {version: weight / total for version, weight in weights.items()}
        cumulative, edges = 0.0, []
        for version in self.versions:
            cumulative += self.shares[version]
            edges.append(cumulative)
        self._edges = edges

    def choose(self, camera_id: str | None) -> Version:
        point = _point(camera_id) if camera_id else random.random()
        index = min(bisect.bisect_right(self._edges, point), len(self.versions) - 1)
        return self.versions[index]  # type: ignore[return-value]


def _point(camera_id: str) -> float:
    digest = hashlib.sha256(camera_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def version_entries(catalog: Mapping[str, CatalogEntry]) -> dict[str, DetectorEntry]:
    """Rows by version; two rows claiming one version are a catalog mistake."""
    by_version: dict[str, DetectorEntry] = {}
    for entry in catalog.values():
        assert isinstance(entry, DetectorEntry)
        if entry.version in by_version:
            raise StartupError(
                f"ai/detector/catalog.toml: rows {by_version[entry.version].name} and {entry.name} "
                f"both serve version {entry.version}"
            )
        by_version[entry.version] = entry
    return by_version
