"""``POST /api/crawl``: a web page's title, visible text and screenshot, from headless Chromium."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ai.contracts.homelab import CrawlRequest, CrawlResponse
from ai.runtime.conventions import ERROR_RESPONSES, json_body
from ai.runtime.image_request import parse_body, read_payload
from backend.state import BackendState, get_state

router = APIRouter(tags=["homelab"])


@router.post(
    "/api/crawl",
    response_model=CrawlResponse,
    responses={**ERROR_RESPONSES, 502: ERROR_RESPONSES[500]},  # 502: the page could not be fetched
    openapi_extra=json_body(CrawlRequest),
    summary="Crawl one web page in headless Chromium",
)
async def crawl(request: Request, state: BackendState = Depends(get_state)) -> CrawlResponse:
    """The page after its scripts ran (``wait_for_js``), as a person would see it: title,
    visible text, final URL and status, and a 1280x800 PNG when ``screenshot``. Public
    addresses only unless CRAWL_ALLOW_PRIVATE (403 otherwise), the hosts of
    CRAWL_ALLOWED_HOSTS when set; every redirect and subresource is checked the same way.
    502 FETCH_FAILED when the page cannot be fetched or takes over CRAWL_TIMEOUT_SECONDS."""
    fields, _files = await read_payload(request, max_files=0)
    body: CrawlRequest = parse_body(CrawlRequest, fields)
    return await state.crawler.crawl(body)
