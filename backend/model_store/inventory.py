"""What each catalog model has on disk, read from the store's layout alone (the backend
has no model stack): the model zoo first, as the services look, then the hub cache, then
an installed package. The rows are joined with what the services report live."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from ai.contracts.model_store import DownloadStatus, ServiceMemory, StoredModel
from ai.contracts.model_zoo import ZooModel
from ai.contracts.models import ManagerStatus
from ai.runtime.catalog import CatalogEntry
from ai.runtime.context import sees_internals
from ai.runtime.store_layout import (
    DEMO_MARKER,
    PULLABLE,
    folder_bytes,
    hf_has_snapshot,
    hf_repo_folder,
    package_folder,
    zoo_folder,
)

LLM_SERVICE = "llm"
# What each source's pull imports: a source is downloadable here only when they are installed
# (the backend's image has the hub client, not the model stack).
PULL_LIBRARIES = {"hf": ("huggingface_hub",), "ultralytics": ("ultralytics",), "torchreid": ("torchreid", "gdown")}


def downloadable(entry: CatalogEntry) -> bool:
    """The API downloads a catalog source this process can pull, and not the LLM: its hub
    repository holds one GGUF per quantisation, many GB each (pull the one you want by
    hand, docs/llm.md)."""
    if entry.source_kind not in PULLABLE or entry.service == LLM_SERVICE:
        return False
    return all(importlib.util.find_spec(name) is not None for name in PULL_LIBRARIES[entry.source_kind])


@dataclass(frozen=True)
class OnDisk:
    status: DownloadStatus
    location: str | None = None
    path: Path | None = None  # what the services would load
    size: int = 0
    removable: list[Path] = field(default_factory=list)  # every store folder holding its weights


def on_disk(entry: CatalogEntry, models_path: Path, hub_cache: Path) -> OnDisk:
    zoo = zoo_folder(models_path, entry.name)
    repo = hf_repo_folder(hub_cache, entry.source_ref) if entry.source_kind == "hf" else None
    removable = [p for p in (zoo, repo) if p is not None and p.is_dir()]
    size = sum(folder_bytes(p) for p in removable)
    if zoo.is_dir() and any(zoo.iterdir()):
        status: DownloadStatus = "demo" if (zoo / DEMO_MARKER).exists() else "downloaded"
        return OnDisk(status, "model-zoo", zoo, size, removable)
    if repo is not None and hf_has_snapshot(repo):
        return OnDisk("downloaded", "hf-cache", repo, size, removable)
    if entry.source_kind == "package":
        folder = package_folder(entry.source_ref)
        if folder is not None:
            return OnDisk("package", "package", folder, folder_bytes(folder))
    return OnDisk("missing", size=size, removable=removable)


def stored_model(entry: CatalogEntry, service: str, disk: OnDisk, live: ZooModel | None) -> StoredModel:
    """``live``: the service's own report (None for the LLM, which llama-server holds)."""
    internals = sees_internals()
    return StoredModel(
        id=entry.name,
        display_name=entry.display_name or entry.name,
        type=entry.category,
        service=service,
        family=entry.family,
        source=entry.source,
        license=entry.license,
        download_status=disk.status,
        demo_weights=disk.status == "demo",
        location=disk.location,  # type: ignore[arg-type]
        size_on_disk_bytes=disk.size,
        path=str(disk.path) if internals and disk.path else None,
        downloadable=downloadable(entry),
        deletable=bool(disk.removable),
        state=live.status if live is not None else "external",
        vram_mb=live.vram_mb if live is not None else entry.vram_mb,
        last_used_at=live.last_used_at if live is not None else None,
        error=live.error if live is not None else None,
    )


def service_memory(statuses: dict[str, ManagerStatus | str]) -> list[ServiceMemory]:
    rows = []
    for name, status in statuses.items():
        if isinstance(status, ManagerStatus):
            rows.append(
                ServiceMemory(
                    name=name,
                    reachable=True,
                    device=status.device,
                    vram_budget_mb=status.vram_budget_mb,
                    vram_used_mb=status.vram_used_mb,
                    loaded_models=[m.name for m in status.loaded_models],
                )
            )
        else:
            rows.append(ServiceMemory(name=name, reachable=False, reason=status))
    return rows
