"""A minimal service on the shared runtime, for testing the runtime over HTTP."""

from __future__ import annotations

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


def _infer(model: Blob, pixels: np.ndarray, sleep_s: float) -> float:
    return run_blob(model, float(pixels.mean()) / 255.0, sleep_s)


def toy_app(specs: list[ModelSpec], settings: RuntimeSettings | None = None, **env: Any) -> FastAPI:
    """``env`` are settings by variable name, e.g. ``VRAM_BUDGET_MB=100``."""
    settings = settings or RuntimeSettings(SERVICE_NAME="toy", **env)
    runtime = build_runtime(settings, specs, "toy")
    router = APIRouter()

    @router.post("/infer/{name}", openapi_extra=image_request_openapi(ImageRequest))
    async def infer(name: str, request: Request, sleep: float = 0.0) -> dict[str, Any]:
        rt = get_runtime(request)
        _body, decoded = await read_image_request(request, ImageRequest, rt.limits)
        value = await rt.infer(name, _infer, np.asarray(decoded.image), sleep)
        return {"model": name, "value": value, "width": decoded.image.width, "height": decoded.image.height}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    return create_app(runtime, title="toy", routers=[router])
