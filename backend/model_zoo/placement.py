"""Where each catalog row of the fleet should be running, and what to say when that
service's status leaves it out: enrichment rows go to the role their routing variable
names; the detector's, Florence-2's and CLIP's rows to the service of their folder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ai.runtime.catalog import CatalogEntry, entries_for_service
from backend.enrichment_client.routing import Router


@dataclass(frozen=True)
class Placement:
    entry: CatalogEntry
    service: str  # the key of its service's status and URL
    where: str  # the service in words, for reasons
    not_hosted: str  # why a reachable service may leave it out of its status
    optional: bool = False  # off until configured: absent from the status is expected, not a fault


def enrichment_placements(router: Router) -> list[Placement]:
    placements = []
    for name, entry in router.entries.items():
        service = router.route_for(name)
        placements.append(
            Placement(
                entry,
                service,
                f"the {service} enrichment service at {router.urls[service]}",
                f"routed to {service} by {entry.routing_variable}, but that service does not host it; "
                "set the variable the same for the backend and both services",
            )
        )
    return placements


def service_placements(urls: Mapping[str, str]) -> list[Placement]:
    """Every row of ``ai/<service>/catalog.toml`` for each service in ``urls``."""
    placements = []
    for service, url in urls.items():
        where = f"the {service} service at {url}"
        for entry in entries_for_service(service).values():
            optional = bool((entry.model_extra or {}).get("optional"))
            placements.append(Placement(entry, service, where, _not_hosted(entry, where, optional), optional))
    return placements


def _not_hosted(entry: CatalogEntry, where: str, optional: bool) -> str:
    if optional:
        variables = " or ".join([*entry.path_aliases, entry.path_variable])
        return f"not configured: {where} hosts it only when {variables} names its weights there (then restart it)"
    return f"{where} does not host it; is that service running the same catalog as the backend?"
