"""Routes built from declared calls: read the body (JSON or multipart), decode and
prepare on a worker thread, run through the model's batcher, finish, add the time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request

from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.declarations import Call, CompositeEndpoint, Declaration, Fields, ModelEndpoint
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.image_request import image_request_openapi, read_image_request
from ai.runtime.service import ServiceRuntime, get_runtime

logger = logging.getLogger(__name__)


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


async def _read_call(request: Request, runtime: ServiceRuntime, declaration: Declaration) -> Call:
    """Parse and validate the body, then decode (and crop) it on a worker thread."""
    body, image = await read_image_request(
        request,
        declaration.contract.request,
        runtime.limits,
        declaration.crop,
        admission=runtime.admission,
        min_side=declaration.min_side,
    )
    return Call(body, image, runtime.settings)


def finish_or_fail(declaration: ModelEndpoint, call: Call, output: Any) -> Fields:
    """``finish``, with a failure reported as the model's (500 ``INFERENCE_FAILED``)."""
    try:
        return declaration.finish(call, output)
    except Exception as exc:
        logger.exception("post-processing of %s failed", declaration.contract.path)
        model = declaration.contract.model
        raise ServiceError(
            ErrorCode.INFERENCE_FAILED,
            f"{model}: post-processing failed: {type(exc).__name__}: {exc}",
            details={"model": model},
            sensitive=True,
        ) from exc


def _handler(declaration: Declaration) -> Any:
    contract = declaration.contract

    if isinstance(declaration, CompositeEndpoint):

        async def composite(request: Request) -> Any:
            runtime = get_runtime(request)
            return await declaration.handle(await _read_call(request, runtime, declaration), runtime)

        composite.__doc__ = contract.summary
        return composite

    model = contract.model
    assert model is not None

    async def single(request: Request) -> Any:
        runtime = get_runtime(request)
        runtime.require(model)  # a model hosted elsewhere is refused before the body is read
        call = await _read_call(request, runtime, declaration)
        inference = await runtime.infer_one(model, declaration.prepare(call))
        if declaration.finish_on_thread:
            fields = await asyncio.to_thread(finish_or_fail, declaration, call, inference.output)
        else:
            fields = finish_or_fail(declaration, call, inference.output)
        # dict() of a model keeps its nested models as they are: nothing is re-validated twice.
        return contract.response(**dict(fields), inference_time_ms=inference.ms)

    single.__doc__ = contract.summary
    return single
