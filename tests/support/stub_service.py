"""A stand-in enrichment service for fault injection: answers what a test tells it to
and counts what it received. Real HTTP, so the client's network code is what is tested."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Script:
    """What the stub answers: ``respond(n)`` gives (status, body, headers) for call n."""

    respond: Callable[[int], tuple[int, dict[str, Any], dict[str, str]]]
    delay_s: float = 0.0
    calls: list[str] = field(default_factory=list)


def error_body(code: str, message: str = "scripted") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": "stub", "details": {}}}


def stub_app(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/{path:path}")
    async def any_post(path: str, request: Request) -> JSONResponse:
        script.calls.append(f"/{path}")
        await request.body()
        if script.delay_s:
            await asyncio.sleep(script.delay_s)
        status, body, headers = script.respond(len(script.calls))
        return JSONResponse(body, status_code=status, headers=headers)

    return app
