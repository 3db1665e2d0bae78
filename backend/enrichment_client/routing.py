"""Which service each enrichment model goes to: ENRICHMENT_<KEY>_SERVICE, read with the
same code the services use to decide what they host."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ai.contracts.enrichment_catalog import EnrichmentEntry, enrichment_entries, routing_table


@dataclass(frozen=True)
class Router:
    entries: dict[str, EnrichmentEntry]
    roles: dict[str, str]
    urls: dict[str, str]

    @classmethod
    def from_environment(cls, urls: Mapping[str, str]) -> Router:
        return cls(entries=enrichment_entries(), roles=dict(routing_table()), urls=dict(urls))

    def route_for(self, model: str) -> str:
        """``light`` or ``heavy``."""
        return self.roles[model]

    def by_service(self, models: list[str]) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for model in models:
            grouped.setdefault(self.route_for(model), []).append(model)
        return grouped
