"""The enrichment app: one codebase, the role decides what it hosts."""

from __future__ import annotations

from fastapi import FastAPI

from ai.enrichment.routes import router
from ai.enrichment.service import EnrichmentService, enrichment_entries, routing_table
from ai.enrichment.settings import EnrichmentSettings
from ai.runtime.app import create_app
from ai.runtime.device import select_device
from ai.runtime.hosting import spec_for_entry
from ai.runtime.profiling import start_profiling
from ai.runtime.service import build_runtime


def create_enrichment_app(settings: EnrichmentSettings | None = None) -> FastAPI:
    settings = settings or EnrichmentSettings()
    device = select_device(settings.device)
    routes = routing_table()
    hosted = {name: entry for name, entry in enrichment_entries().items() if routes[name] == settings.role}
    specs = [spec_for_entry(entry, settings, device, settings.trt_cache) for entry in hosted.values()]
    holder: dict[str, EnrichmentService] = {}
    runtime = build_runtime(
        settings,
        specs,
        settings.metrics_prefix,
        device=device,
        unknown_model=lambda name: holder["service"].unknown_model(name),
    )
    service = EnrichmentService(settings=settings, runtime=runtime, hosted=hosted, routes=routes)
    holder["service"] = service
    profiling = start_profiling(settings, tags={"role": settings.role})

    def health_extra() -> dict[str, object]:
        return {"role": settings.role, "hosted_models": list(hosted), "profiling": profiling}

    app = create_app(
        runtime,
        title=f"Enrichment ({settings.role})",
        description="Pose, threat, re-identification, pet, depth and more, loaded on demand within a memory budget.",
        routers=[router],
        health_extra=health_extra,
    )
    app.state.enrichment = service
    return app
