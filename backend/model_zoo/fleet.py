"""One read of every model service's ``/models/status`` (each with its own key), shared
by the Model Zoo API and the model management API; plus where each model lives."""

from __future__ import annotations

from dataclasses import dataclass

from ai.contracts.model_zoo import ZooModels
from ai.contracts.models import ManagerStatus
from backend.enrichment_client.transport import bearer_headers
from backend.model_zoo.aggregate import fetch_statuses, zoo_models
from backend.model_zoo.placement import Placement, enrichment_placements, service_placements
from backend.state import BackendState


@dataclass(frozen=True)
class FleetStatus:
    zoo: ZooModels
    statuses: dict[str, ManagerStatus | str]  # by service: its status, or why there is none


def placements(state: BackendState) -> list[Placement]:
    return enrichment_placements(state.client.router) + service_placements(state.settings.model_service_urls)


def service_urls(state: BackendState) -> dict[str, str]:
    return {**state.client.router.urls, **state.settings.model_service_urls}


def service_headers(state: BackendState) -> dict[str, dict[str, str]]:
    """The key the backend presents to each service."""
    headers = {name: service.auth_headers() for name, service in state.client.services.items()}
    return headers | {name: bearer_headers(key) for name, key in state.settings.model_service_api_keys.items()}


async def fleet_status(state: BackendState) -> FleetStatus:
    """Every service at once; one that does not answer leaves its models unreachable."""
    statuses = await fetch_statuses(
        state.client.http, service_urls(state), state.settings.status_timeout_s, service_headers(state)
    )
    return FleetStatus(zoo_models(placements(state), statuses), statuses)
