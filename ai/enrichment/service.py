"""The enrichment service: one codebase, two roles. The role decides which catalog
models this instance hosts (``ENRICHMENT_<KEY>_SERVICE``, read by the backend too);
every endpoint exists on both, and a model of the other role answers 409."""

from __future__ import annotations

from typing import Any

from ai.contracts.enrichment_catalog import EnrichmentEntry, Role, enrichment_entries, routing_table
from ai.enrichment.action import ACTION_ENDPOINT
from ai.enrichment.clothing import CLOTHING_ENDPOINT, SEGMENTS_ENDPOINT
from ai.enrichment.damage import DAMAGE_ENDPOINT
from ai.enrichment.depth import DEPTH_ENDPOINT, DISTANCE_ENDPOINT
from ai.enrichment.enrich import ENRICH_ENDPOINT
from ai.enrichment.open_vocab import OPEN_VOCAB_ENDPOINT
from ai.enrichment.pet import PET_ENDPOINT
from ai.enrichment.plates import PLATE_ENDPOINT
from ai.enrichment.pose import POSE_ENDPOINT, VITPOSE_ENDPOINT
from ai.enrichment.reid import REID_ENDPOINT
from ai.enrichment.settings import EnrichmentSettings
from ai.enrichment.threat import THREAT_ENDPOINT
from ai.enrichment.vehicle import VEHICLE_ENDPOINT
from ai.runtime.catalog import CatalogEntry
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.model_service import ModelService


def not_hosted_error(entry: EnrichmentEntry, role: str, hosted_by: str) -> ServiceError:
    return ServiceError(
        ErrorCode.MODEL_NOT_HOSTED,
        f"{entry.name} is not hosted by the {role} enrichment service ({entry.routing_variable}={hosted_by}); "
        f"send the request to the {hosted_by} service, or set {entry.routing_variable}={role} for this service "
        "and the backend",
        details={"model": entry.name, "variable": entry.routing_variable, "hosted_by": hosted_by, "role": role},
    )


class EnrichmentService(ModelService):
    name = "enrichment"
    settings_type = EnrichmentSettings
    entry_type = EnrichmentEntry
    description = (
        "Pose, threat, re-identification, pet, depth, vehicles, demographics, clothing, action, vehicle damage, "
        "plates and open-vocabulary boxes, loaded on demand within a memory budget."
    )
    endpoints = (
        POSE_ENDPOINT,
        THREAT_ENDPOINT,
        REID_ENDPOINT,
        PET_ENDPOINT,
        DEPTH_ENDPOINT,
        DISTANCE_ENDPOINT,
        VEHICLE_ENDPOINT,
        VITPOSE_ENDPOINT,
        CLOTHING_ENDPOINT,
        SEGMENTS_ENDPOINT,
        ACTION_ENDPOINT,
        DAMAGE_ENDPOINT,
        PLATE_ENDPOINT,
        OPEN_VOCAB_ENDPOINT,
        ENRICH_ENDPOINT,
    )
    settings: EnrichmentSettings

    def __init__(self, settings: EnrichmentSettings) -> None:
        super().__init__(settings)
        self.routes: dict[str, Role] = routing_table()  # read once, at start-up

    def hosted(self, catalog: dict[str, CatalogEntry]) -> dict[str, CatalogEntry]:
        return {name: entry for name, entry in catalog.items() if self.routes[name] == self.settings.role}

    def not_hosted(self, name: str) -> ServiceError | None:
        entry = enrichment_entries().get(name)
        return not_hosted_error(entry, self.settings.role, self.routes[name]) if entry is not None else None

    @property
    def title(self) -> str:
        return f"Enrichment ({self.settings.role})"

    @property
    def metrics_prefix(self) -> str:
        return f"enrichment_{self.settings.role}"

    def health_extra(self) -> dict[str, Any]:
        hosted = [name for name, role in self.routes.items() if role == self.settings.role]
        return {"role": self.settings.role, "hosted_models": hosted}

    def profiling_tags(self) -> dict[str, str]:
        return {"role": self.settings.role}
