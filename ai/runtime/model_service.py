"""A model service is a small folder: settings, declared endpoints, a ``catalog.toml``
and a subclass of :class:`ModelService`. :func:`create_service_app` builds the app
(catalog rows checked, declarations checked, models hosted and batched, routes with
OpenAPI, health, metrics, profiling); :func:`serve` is the service's ``__main__``."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from fastapi import APIRouter, FastAPI

from ai.runtime.app import create_app
from ai.runtime.catalog import CatalogEntry, StrictEntry, read_catalog
from ai.runtime.declarations import Declaration
from ai.runtime.device import select_device
from ai.runtime.endpoints import endpoint_router
from ai.runtime.errors import ServiceError, exit_on_bad_configuration
from ai.runtime.hosting import spec_for_entry
from ai.runtime.logs import configure_logging
from ai.runtime.profiling import start_profiling
from ai.runtime.service import ServiceRuntime, build_runtime
from ai.runtime.serving import run_app
from ai.runtime.settings import RuntimeSettings
from ai.runtime.startup_checks import check_declarations


class ModelService:
    """What a model service declares. Subclasses set the class attributes and may
    override the hooks (which catalog rows this instance hosts, and so on)."""

    name: ClassVar[str]  # the catalog's service name and the metrics prefix
    settings_type: ClassVar[type[RuntimeSettings]] = RuntimeSettings
    endpoints: ClassVar[Sequence[Declaration]] = ()
    entry_type: ClassVar[type[CatalogEntry]] = StrictEntry  # checks the service's own catalog fields
    description: ClassVar[str] = ""

    def __init__(self, settings: RuntimeSettings) -> None:
        self.settings = settings

    @classmethod
    def catalog_path(cls) -> Path:
        """``catalog.toml`` beside the module that names the service (sets ``name``)."""
        owner = next(klass for klass in cls.__mro__ if "name" in vars(klass))
        return Path(inspect.getfile(owner)).resolve().parent / "catalog.toml"

    def catalog(self) -> dict[str, CatalogEntry]:
        rows = read_catalog(self.catalog_path(), self.name)
        return {name: entry.typed(self.entry_type) for name, entry in rows.items()}

    def hosted(self, catalog: dict[str, CatalogEntry]) -> dict[str, CatalogEntry]:
        """The rows this instance hosts (all of them unless a service splits its models)."""
        return catalog

    def not_hosted(self, name: str) -> ServiceError | None:
        """The error for a model of this service that this instance does not host."""
        return None

    @property
    def title(self) -> str:
        return self.name

    @property
    def metrics_prefix(self) -> str:
        return self.name

    def health_extra(self) -> dict[str, Any]:
        return {}

    def routers(self) -> Sequence[APIRouter]:
        """Routes beyond the declared model calls (the service's own state and reports)."""
        return ()

    def install(self, app: FastAPI, runtime: ServiceRuntime) -> None:
        """Attach what the service keeps beside its models (monitors, middleware); what
        must stop with the service goes in ``runtime.on_close``."""

    def profiling_tags(self) -> dict[str, str]:
        return {}


def create_service_app(service: ModelService) -> FastAPI:
    """The app of ``service``; raises :class:`StartupError` naming what to fix."""
    settings = service.settings
    catalog = service.catalog()
    hosted = service.hosted(catalog)
    check_declarations(service.endpoints, catalog, hosted, service.catalog_path())
    device = select_device(settings.device)
    specs = [spec_for_entry(entry, settings, device) for entry in hosted.values()]
    runtime = build_runtime(settings, specs, service.metrics_prefix, device=device, unknown_model=service.not_hosted)
    runtime.service = service
    profiling = start_profiling(settings, tags=service.profiling_tags())
    app = create_app(
        runtime,
        title=service.title,
        description=service.description,
        routers=[endpoint_router(service.endpoints, tag=service.name), *service.routers()],
        health_extra=lambda: {**service.health_extra(), "profiling": profiling},
    )
    service.install(app, runtime)
    return app


def serve(service_type: type[ModelService]) -> None:
    """Run ``service_type`` with uvicorn; a configuration problem exits with status 2."""
    with exit_on_bad_configuration():
        settings = service_type.settings_type()
        configure_logging(settings.log_level)
        app = create_service_app(service_type(settings))
    run_app(app, settings)
