"""A minimal service on the shared runtime's lower layer (hand-made model specs), for
testing the runtime's HTTP behaviour with models of chosen size and behaviour."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from fastapi import APIRouter, FastAPI, Request

from ai.contracts.images import ImageRequest
from ai.runtime.app import create_app
from ai.runtime.image_request import image_request_openapi, read_image_request
from ai.runtime.model_state import ModelSpec
from ai.runtime.service import build_runtime, get_runtime
from ai.runtime.settings import RuntimeSettings
from tests.support.torch_models import Blob, run_blob


def _run_blobs(model: Blob, items: list[tuple[float, float]]) -> list[float]:
    return [run_blob(model, value, sleep_s) for value, sleep_s in items]


def toy_app(specs: list[ModelSpec], settings: RuntimeSettings | None = None, **env: Any) -> FastAPI:
    """``env`` are settings by variable name, e.g. ``VRAM_BUDGET_MB=100``."""
    settings = settings or RuntimeSettings(SERVICE_NAME="toy", **env)
    runtime = build_runtime(settings, [dataclasses.replace(s, run_batch=_run_blobs) for s in specs], "toy")
    router = APIRouter()

    @router.post("/infer/{name}", openapi_extra=image_request_openapi(ImageRequest))
    async def infer(name: str, request: Request, sleep: float = 0.0) -> dict[str, Any]:
        rt = get_runtime(request)
        rt.require(name)
        _body, decoded = await read_image_request(request, ImageRequest, rt.limits, admission=rt.admission)
        brightness = float(np.asarray(decoded.image).mean()) / 255.0
        inference = await rt.infer_one(name, (brightness, sleep))
        return {"model": name, "value": inference.output, "width": decoded.image.width, "height": decoded.image.height}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    return create_app(runtime, title="toy", routers=[router])
