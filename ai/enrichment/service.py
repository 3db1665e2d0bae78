"""The enrichment service of one role: which catalog models it hosts, and running them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request

from ai.enrichment.settings import EnrichmentSettings
from ai.runtime.catalog import CatalogEntry, entries_for_service
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.model_env import model_env
from ai.runtime.service import ServiceRuntime

T = TypeVar("T")


def enrichment_entries() -> dict[str, CatalogEntry]:
    return {entry.name: entry for entry in entries_for_service("enrichment")}


def not_hosted_error(entry: CatalogEntry, role: str, hosted_by_role: str | None) -> ServiceError:
    other = hosted_by_role or ("heavy" if role == "light" else "light")
    return ServiceError(
        ErrorCode.MODEL_NOT_HOSTED,
        f"{entry.name} is not hosted by the {role} enrichment service ({entry.routing_variable}={other}); "
        f"send the request to the {other} service, or set {entry.routing_variable}={role} for this service "
        "and the backend",
        details={"model": entry.name, "variable": entry.routing_variable, "hosted_by": other, "role": role},
    )


def routing_table() -> dict[str, str | None]:
    """Which role hosts each enrichment model, from ``ENRICHMENT_<KEY>_SERVICE``."""
    return {name: model_env(entry).role for name, entry in enrichment_entries().items()}


@dataclass
class EnrichmentService:
    settings: EnrichmentSettings
    runtime: ServiceRuntime
    hosted: dict[str, CatalogEntry]
    routes: dict[str, str | None]  # read once at start-up, like ``hosted``

    @property
    def role(self) -> str:
        return self.settings.role

    def unknown_model(self, name: str) -> ServiceError | None:
        """For the manager: a known model of the other role is 409, not 404."""
        entry = enrichment_entries().get(name)
        return not_hosted_error(entry, self.role, self.routes.get(name)) if entry is not None else None

    def require(self, name: str) -> CatalogEntry:
        entry = self.hosted.get(name)
        if entry is None:
            raise self.unknown_model(name) or ServiceError(ErrorCode.MODEL_NOT_FOUND, f"unknown model {name!r}")
        return entry

    async def run(self, name: str, fn: Callable[..., T], *args: Any) -> tuple[T, float]:
        """Run ``fn(adapter, *args)`` on a hosted model; returns (result, milliseconds in the model)."""
        self.require(name)

        def timed(adapter: Any, *inner: Any) -> tuple[T, float]:
            started = time.perf_counter()
            result = fn(adapter, *inner)
            return result, round((time.perf_counter() - started) * 1000.0, 2)

        return await self.runtime.infer(name, timed, *args)


def get_enrichment(request: Request) -> EnrichmentService:
    return request.app.state.enrichment
