"""The admin page: plain HTML, CSS and JavaScript served by the backend, public (it holds
nothing secret: the page asks the operator for an API key and sends it with each call it
makes to the API). A strict content security policy allows only these files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.security.keys import Scope
from ai.runtime.security.policy import requires

router = APIRouter(tags=["admin page"])
PAGE = Path(__file__).resolve().parent.parent / "admin"
ASSETS = {"admin.js": "text/javascript", "admin.css": "text/css"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PUBLIC = requires(Scope.PUBLIC)


@router.get("/", include_in_schema=True, openapi_extra=PUBLIC, response_class=RedirectResponse)
async def root() -> RedirectResponse:
    return RedirectResponse("/admin", status_code=307)


@router.get("/admin", openapi_extra=PUBLIC, response_class=FileResponse)
async def admin_page() -> FileResponse:
    """The fleet at a glance: services, models, memory, latency, jobs, recent events."""
    return FileResponse(PAGE / "index.html", media_type="text/html", headers=HEADERS)


@router.get("/admin/assets/{name}", openapi_extra=PUBLIC, response_class=FileResponse, responses=ERROR_RESPONSES)
async def admin_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise ServiceError(ErrorCode.NOT_FOUND, f"no admin asset {name!r}")
    return FileResponse(PAGE / name, media_type=ASSETS[name], headers=HEADERS)
