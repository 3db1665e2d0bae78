"""The Model Zoo view: every model in the fleet's catalog (enrichment, detector,
Florence-2, CLIP), with the live status its hosting service reports; a service that does
not answer leaves its models unreachable."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import httpx
from pydantic import ValidationError

from ai.contracts.model_zoo import ZooModel, ZooModels, ZooStatus, ZooStatusItem
from ai.contracts.models import ManagerStatus, ModelStatus
from ai.runtime.catalog import CatalogEntry
from ai.runtime.context import sees_internals
from ai.runtime.redact import for_caller
from backend.model_zoo.placement import Placement

logger = logging.getLogger(__name__)

UI_CATEGORIES = {
    "detection": "Detection",
    "classification": "Classification",
    "segmentation": "Segmentation",
    "pose": "Pose",
    "depth-estimation": "Depth",
    "embedding": "Embedding",
    "ocr": "OCR",
    "action-recognition": "Action Recognition",
}  # anything else (Florence-2's "vision-language": captions, OCR and boxes at once) is Other
UI_ORDER = [*UI_CATEGORIES.values(), "Other"]


async def fetch_statuses(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    timeout_s: float,
    headers: dict[str, dict[str, str]] | None = None,
) -> dict[str, ManagerStatus | str]:
    """Each service's /models/status (with that service's ``headers``, its API key), or
    the reason it gave none: down, refused (401/403 with its code), or nonsense."""

    async def one(name: str) -> ManagerStatus | str:
        url = urls[name]
        try:
            response = await http.get(f"{url}/models/status", timeout=timeout_s, headers=(headers or {}).get(name))
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc or 'no answer'}"
        else:
            if response.is_success:
                try:
                    return ManagerStatus.model_validate(response.json())
                except (ValueError, ValidationError) as exc:
                    reason = f"unreadable /models/status: {type(exc).__name__}"
            else:
                reason = f"HTTP {response.status_code} {_envelope_summary(response)}".rstrip()
        logger.warning("no model status from %s: %s", url, reason)
        return reason

    names = list(urls)
    statuses = await asyncio.gather(*(one(name) for name in names))
    return dict(zip(names, statuses, strict=True))


def _envelope_summary(response: httpx.Response) -> str:
    """``UNAUTHORIZED: missing API key`` from an error envelope, else nothing."""
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return ""


def _from_status(entry: CatalogEntry, service: str, status: ModelStatus) -> ZooModel:
    return ZooModel(
        name=entry.name,
        display_name=status.display_name or entry.display_name,
        vram_mb=status.vram_mb,
        status=status.state,
        category=entry.category,
        enabled=status.state != "disabled",
        available=status.available or status.loaded,
        path=(status.path if sees_internals() else None) or entry.source,
        load_count=status.leases,
        times_loaded=status.load_count,
        service=service,
        priority=status.priority,
        backend=status.backend,
        demo_weights=status.demo_weights,
        last_used_at=status.last_used,
        error=for_caller(status.error),
    )


def _without_status(entry: CatalogEntry, service: str, state: str, error: str, enabled: bool = True) -> ZooModel:
    return ZooModel(
        name=entry.name,
        display_name=entry.display_name,
        vram_mb=entry.vram_mb,
        status=state,
        category=entry.category,
        enabled=enabled,
        available=False,
        path=entry.source,
        load_count=0,
        service=service,
        priority=entry.priority,
        error=error,
    )


def _model(placement: Placement, status: ManagerStatus | str | None) -> ZooModel:
    entry, service, where = placement.entry, placement.service, placement.where
    if not isinstance(status, ManagerStatus):
        reason = f"no model status from {where}: {status}" if status else f"{where} did not answer"
        return _without_status(entry, service, "unreachable", reason)
    reported = next((m for m in status.registered_models if m.name == entry.name), None)
    if reported is not None:
        return _from_status(entry, service, reported)
    return _without_status(entry, service, "not_hosted", placement.not_hosted, enabled=not placement.optional)


def zoo_models(placements: list[Placement], statuses: dict[str, ManagerStatus | str | None]) -> ZooModels:
    """``statuses``: each service's status, or why there is none (a reason, or None).
    Budgets are summed over the services that answered; each service loads one model at
    a time, so as many loads can run at once as there are services."""
    models = [_model(placement, statuses.get(placement.service)) for placement in placements]
    reachable = [s for s in statuses.values() if isinstance(s, ManagerStatus)]
    budget = sum(s.vram_budget_mb for s in reachable)
    used = sum(s.vram_used_mb for s in reachable)
    return ZooModels(
        vram_budget_mb=round(budget, 1),
        vram_used_mb=round(used, 1),
        vram_available_mb=round(max(0.0, budget - used), 1),
        models=models,
        loading_strategy="on_demand",
        max_concurrent_models=len(statuses),
    )


def ui_category(category: str) -> str:
    return UI_CATEGORIES.get(category, "Other")


def zoo_status(zoo: ZooModels) -> ZooStatus:
    """Compact list for a UI: by category in UI order, disabled models last."""
    items = [
        ZooStatusItem(
            name=m.name,
            display_name=m.display_name,
            category=ui_category(m.category),
            status=m.status,
            vram_mb=m.vram_mb,
            last_used_at=m.last_used_at,
            enabled=m.enabled,
        )
        for m in zoo.models
    ]
    items.sort(key=lambda i: (not i.enabled, UI_ORDER.index(i.category), i.name))
    return ZooStatus(
        models=items,
        total_models=len(items),
        loaded_count=sum(1 for i in items if i.status == "loaded"),
        disabled_count=sum(1 for i in items if not i.enabled),
        vram_budget_mb=zoo.vram_budget_mb,
        vram_used_mb=zoo.vram_used_mb,
        timestamp=datetime.now(UTC),
    )
