"""Routes built from declared calls: read the body (JSON or multipart), decode and
prepare on a worker thread, run through the model's batcher, finish, add the time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request

from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.declarations import Call, CompositeEndpoint, Declaration, ModelEndpoint
from ai.runtime.image_request import image_request_openapi, image_source, load_image, parse_body, read_payload
from ai.runtime.service import ServiceRuntime, get_runtime


def endpoint_router(declarations: Iterable[Declaration], tag: str) -> APIRouter:
    router = APIRouter(tags=[tag])
    for declaration in declarations:
        contract = declaration.contract
        router.add_api_route(
            contract.path,
            _handler(declaration),
            methods=["POST"],
            response_model=contract.response,
            responses=ERROR_RESPONSES,
            openapi_extra=image_request_openapi(contract.request),
            summary=contract.summary.split(".")[0] or None,
            description=contract.summary,
            name=contract.path.strip("/").replace("-", "_").replace("/", "_"),
        )
    return router


async def _read_call(request: Request, runtime: ServiceRuntime, declaration: Declaration) -> tuple[Call, Any]:
    """Parse and validate the body, then decode (and prepare) on a worker thread."""
    data, files = await read_payload(request)
    body = parse_body(declaration.contract.request, data)
    raw = image_source(body, files)

    def decode() -> tuple[Call, Any]:
        image = load_image(raw, getattr(body, "bbox", None), runtime.limits, "image", declaration.crop)
        call = Call(body, image, runtime.settings)
        return call, declaration.prepare(call) if isinstance(declaration, ModelEndpoint) else None

    return await asyncio.to_thread(decode)


def _handler(declaration: Declaration) -> Any:
    contract = declaration.contract

    if isinstance(declaration, CompositeEndpoint):

        async def composite(request: Request) -> Any:
            runtime = get_runtime(request)
            call, _ = await _read_call(request, runtime, declaration)
            return await declaration.handle(call, runtime)

        composite.__doc__ = contract.summary
        return composite

    model = contract.model
    assert model is not None

    async def single(request: Request) -> Any:
        runtime = get_runtime(request)
        runtime.require(model)  # a model hosted elsewhere is refused before the body is read
        call, item = await _read_call(request, runtime, declaration)
        inference = await runtime.infer_one(model, item)
        if declaration.finish_on_thread:
            fields = await asyncio.to_thread(declaration.finish, call, inference.output)
        else:
            fields = declaration.finish(call, inference.output)
        # dict() of a model keeps its nested models as they are: nothing is re-validated twice.
        return contract.response(**dict(fields), inference_time_ms=inference.ms)

    single.__doc__ = contract.summary
    return single
