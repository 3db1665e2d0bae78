"""Which service each enrichment model goes to: ENRICHMENT_<KEY>_SERVICE, read with the
same code the services use to decide what they host."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ai.runtime.catalog import CatalogEntry, entries_for_service
from ai.runtime.model_env import model_env


@dataclass(frozen=True)
class Router:
    entries: dict[str, CatalogEntry]
    roles: dict[str, str]
    urls: dict[str, str]

    @classmethod
    def from_environment(cls, urls: Mapping[str, str]) -> Router:
        entries = {entry.name: entry for entry in entries_for_service("enrichment")}
        roles = {name: model_env(entry).role or "heavy" for name, entry in entries.items()}
        return cls(entries=entries, roles=roles, urls=dict(urls))

    def route_for(self, model: str) -> str:
        """``light`` or ``heavy``."""
        return self.roles[model]

    def by_service(self, models: list[str]) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for model in models:
            grouped.setdefault(self.route_for(model), []).append(model)
        return grouped
