"""``Crawler``: a page's title, visible text and (when asked) a screenshot, from headless
Chromium driven by Playwright.

Every request the page makes passes the guard (``check_url``) first. Playwright calls a
route handler only for a request's first URL, never for its redirect hops, and not for
WebSockets; so Chromium's own network is switched off (an unresolvable proxy and a
resolver that resolves nothing) and everything is fetched by Playwright in the route
handler, one hop at a time, each hop guarded. A redirect of the page itself is followed
by navigating to its Location, so the browser ends up on the final URL.

Errors: 503 SERVICE_UNAVAILABLE when crawling is off, playwright is not installed or
Chromium cannot start (or every crawl slot stayed busy for CRAWL_TIMEOUT_SECONDS); 403
FORBIDDEN for a refused page URL or redirect hop; 502 FETCH_FAILED when the page could
not be fetched (DNS, connection, TLS) and when the crawl took longer than
CRAWL_TIMEOUT_SECONDS (a timeout is a fetch that failed, so one code covers both). A page
that answers 4xx or 5xx is a crawl, with its ``status_code``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from ai.contracts.homelab import CrawlRequest, CrawlResponse
from ai.runtime.context import current_request_id
from ai.runtime.errors import ErrorCode, ServiceError, one_line
from backend.crawl.guard import HostCache, check_url
from backend.settings import BackendSettings

try:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    PLAYWRIGHT = True
except ImportError:  # the optional extra `crawl`
    PLAYWRIGHT = False

    class PlaywrightError(Exception):  # type: ignore[no-redef]
        """Stands in for playwright's error when it is not installed (never raised)."""

    class PlaywrightTimeout(PlaywrightError):  # type: ignore[no-redef]
        """Stands in for playwright's timeout when it is not installed (never raised)."""


logger = logging.getLogger(__name__)

CHROMIUM_CANDIDATES = (Path("/usr/bin/chromium"), Path("/usr/bin/chromium-browser"))
INSTALL_HINT = "install it (apt-get install chromium) or set CRAWL_CHROMIUM_PATH"
VIEWPORT = {"width": 1280, "height": 800}
MAX_REDIRECTS = 10
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
# Chromium fetches nothing itself: what the route handler does not fetch fails.
NO_NETWORK_ARGS = [
    "--proxy-server=http://no-direct-network.invalid:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-dev-shm-usage",  # a container's /dev/shm is small
]
BODY_TEXT = "() => document.body ? document.body.innerText : (document.documentElement?.textContent ?? '')"


@dataclass
class _Visit:
    """One crawl's state, shared with its route handler."""

    deadline: float
    hosts: HostCache = field(default_factory=dict)
    page: Any = None
    redirect: str | None = None  # the page's own 3xx, for the navigation loop to follow
    refused: ServiceError | None = None  # why the page's own request did not go out

    def remaining_ms(self) -> float:
        return max(1.0, (self.deadline - time.monotonic()) * 1000.0)


class Crawler:
    """One Chromium, started on the first crawl (and again if it went away); a fresh
    browser context per crawl, so no cookies or storage pass from one to the next."""

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.crawl_max_concurrency)
        self._launch_lock = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None

    async def crawl(self, request: CrawlRequest) -> CrawlResponse:
        started = time.monotonic()
        outcome = "failed"
        try:
            response = await self._crawl(request)
            outcome = f"status {response.status_code}"
            return response
        except ServiceError as exc:
            outcome = exc.code.value
            raise
        finally:
            host = _host_of(request.url)
            logger.info("crawl %s: %s in %.0f ms", host, outcome, (time.monotonic() - started) * 1000.0)

    async def close(self) -> None:
        async with self._launch_lock:
            await self._shutdown()

    async def _crawl(self, request: CrawlRequest) -> CrawlResponse:
        chromium = self._chromium()
        timeout_s = self.settings.crawl_timeout_s
        hosts: HostCache = {}
        try:
            async with asyncio.timeout(timeout_s):
                await check_url(request.url, self.settings, hosts)  # refused before a browser starts
        except TimeoutError as exc:
            raise self._timed_out() from exc
        async with self._slot():
            browser = await self._browser_ready(chromium)
            visit = _Visit(time.monotonic() + timeout_s - 0.2, hosts)  # playwright's timeouts fire first
            try:
                async with asyncio.timeout(timeout_s):
                    return await self._visit(browser, request, visit)
            except (TimeoutError, PlaywrightTimeout) as exc:
                raise self._timed_out() from exc

    async def _visit(self, browser: Any, request: CrawlRequest, visit: _Visit) -> CrawlResponse:
        context = await browser.new_context(viewport=VIEWPORT, service_workers="block", accept_downloads=False)
        try:
            started = time.monotonic()
            visit.page = page = await context.new_page()
            context.on("page", _close_popup)
            await context.route("**/*", lambda route: self._route(route, visit))
            response = await self._navigate(page, request.url, visit)
            if request.wait_for_js:
                await _settle(page, visit, self.settings.crawl_timeout_s)
            title = await page.title()
            text = visible_text(await page.evaluate(BODY_TEXT) or "", self.settings.crawl_max_text_chars)
            shot = await page.screenshot(type="png", timeout=visit.remaining_ms()) if request.screenshot else None
            return CrawlResponse(
                request_id=current_request_id() or "",
                url=page.url,
                status_code=response.status if response is not None else None,
                title=title,
                text=text,
                screenshot_base64=base64.b64encode(shot).decode("ascii") if shot else None,
                fetch_time_ms=(time.monotonic() - started) * 1000.0,
            )
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), 5.0)

    async def _navigate(self, page: Any, url: str, visit: _Visit) -> Any:
        """The page's response, following its redirects; each hop passes the guard."""
        for hop in range(MAX_REDIRECTS + 1):
            if hop:
                try:
                    await check_url(url, self.settings, visit.hosts)
                except ServiceError as exc:
                    raise _hop_refused(url, exc) from exc
            visit.redirect = visit.refused = None
            try:
                return await page.goto(url, wait_until="domcontentloaded", timeout=visit.remaining_ms())
            except PlaywrightTimeout:
                raise
            except PlaywrightError as exc:
                if visit.refused is not None:
                    raise visit.refused from exc
                if visit.redirect is None:
                    raise fetch_failed(url, exc) from exc
                url = visit.redirect
        raise ServiceError(ErrorCode.FETCH_FAILED, f"more than {MAX_REDIRECTS} redirects", details={"url": url})

    async def _route(self, route: Any, visit: _Visit) -> None:
        """Fetch one request for the browser when the guard allows it; never leaves it hanging."""
        request = route.request
        main = _is_page_itself(request, visit.page)
        try:
            try:
                await check_url(request.url, self.settings, visit.hosts)
            except ServiceError as exc:
                if main:
                    visit.refused = _hop_refused(request.url, exc)
                await _abort(route, "blockedbyclient" if exc.code is not ErrorCode.FETCH_FAILED else "namenotresolved")
                return
            response = await route.fetch(max_redirects=0, timeout=visit.remaining_ms())
            location = _location(response, request.url)
            if location is not None and main:
                visit.redirect = location
                await _abort(route, "aborted")
                return
            if location is not None and request.method in ("GET", "HEAD"):
                response = await self._follow(route, location, visit)
            await route.fulfill(response=response)
        except ServiceError:
            await _abort(route, "blockedbyclient")
        except PlaywrightError as exc:
            if main and visit.refused is None:
                timed_out = isinstance(exc, PlaywrightTimeout)
                visit.refused = self._timed_out() if timed_out else fetch_failed(request.url, exc)
            await _abort(route, "failed")
        except Exception:
            logger.exception("crawl: the route handler failed")
            await _abort(route, "failed")

    async def _follow(self, route: Any, location: str, visit: _Visit) -> Any:
        """A subresource's redirects, hop by hop, each guarded; the browser gets the last answer."""
        for _ in range(MAX_REDIRECTS):
            checked = (await check_url(location, self.settings, visit.hosts)).geturl()  # fetch what was checked
            response = await route.fetch(url=checked, max_redirects=0, timeout=visit.remaining_ms())
            following = _location(response, checked)
            if following is None:
                return response
            location = following
        raise ServiceError(ErrorCode.FETCH_FAILED, f"more than {MAX_REDIRECTS} redirects")

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        timeout_s = self.settings.crawl_timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE,
                f"every crawl slot (CRAWL_MAX_CONCURRENCY={self.settings.crawl_max_concurrency}) "
                f"stayed busy for {timeout_s:g} s",
                retry_after=timeout_s,
            ) from exc
        try:
            yield
        finally:
            self._slots.release()

    def _chromium(self) -> Path:
        """The browser to launch, or 503 saying why crawling cannot work here."""
        if not self.settings.crawl_enabled:
            raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "crawling is switched off (CRAWL_ENABLED=false)")
        if not PLAYWRIGHT:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE,
                "playwright is not installed: pip install '.[crawl]' (the package's crawl extra)",
            )
        configured = self.settings.crawl_chromium_path
        if configured is not None:
            if configured.is_file() and os.access(configured, os.X_OK):
                return configured
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE, f"CRAWL_CHROMIUM_PATH={configured} is not an executable file"
            )
        for candidate in CHROMIUM_CANDIDATES:
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        names = " or ".join(str(c) for c in CHROMIUM_CANDIDATES)
        raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, f"no Chromium at {names}: {INSTALL_HINT}")

    async def _browser_ready(self, chromium: Path) -> Any:
        async with self._launch_lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            await self._shutdown()  # a browser that crashed or was killed: start a new one
            from playwright.async_api import async_playwright

            args = [*NO_NETWORK_ARGS]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
            try:
                self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=str(chromium), headless=True, args=args
                )
            except Exception as exc:
                await self._shutdown()
                raise ServiceError(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    f"Chromium ({chromium}) did not start: {one_line(exc)}; {INSTALL_HINT}",
                ) from exc
            logger.info("crawl: started Chromium %s (%s)", self._browser.version, chromium)
            return self._browser

    async def _shutdown(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), 10.0)
        if playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(playwright.stop(), 10.0)

    def _timed_out(self) -> ServiceError:
        timeout_s = self.settings.crawl_timeout_s
        return ServiceError(
            ErrorCode.FETCH_FAILED,
            f"the page did not load within CRAWL_TIMEOUT_SECONDS ({timeout_s:g} s)",
            details={"timeout_s": timeout_s},
        )


def visible_text(raw: str, limit: int) -> str:
    """Each line stripped, a run of blank lines made one, cut at ``limit`` characters."""
    lines: list[str] = []
    for line in raw.splitlines():
        line = line.strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()[:limit]


def fetch_failed(url: str, exc: BaseException) -> ServiceError:
    return ServiceError(
        ErrorCode.FETCH_FAILED, f"could not fetch {url[:300]}: {one_line(exc)}", details={"url": url[:2000]}
    )


async def _settle(page: Any, visit: _Visit, timeout_s: float) -> None:
    """Wait for the network to go quiet, so scripts have run; a page that never goes
    quiet (polling, streaming) is read as it is, leaving time to read it."""
    budget_ms = visit.remaining_ms() - min(5.0, timeout_s / 4) * 1000.0
    if budget_ms > 0:
        with contextlib.suppress(PlaywrightTimeout):
            await page.wait_for_load_state("networkidle", timeout=budget_ms)


def _hop_refused(url: str, exc: ServiceError) -> ServiceError:
    """The guard's refusal, naming the URL; an unresolvable host stays a failed fetch."""
    if exc.code is ErrorCode.FETCH_FAILED:
        return exc
    return ServiceError(
        ErrorCode.FORBIDDEN, f"{url[:300]} is refused: {exc.message}", details={**exc.details, "url": url[:2000]}
    )


def _is_page_itself(request: Any, page: Any) -> bool:
    """The main frame's navigation (not an iframe's, a popup's or a subresource)."""
    try:
        return page is not None and request.is_navigation_request() and request.frame is page.main_frame
    except PlaywrightError:  # a request without a frame
        return False


def _location(response: Any, base: str) -> str | None:
    location = response.headers.get("location")
    if response.status in REDIRECT_STATUSES and location:
        return urljoin(base, location)
    return None


async def _abort(route: Any, error_code: str) -> None:
    with contextlib.suppress(PlaywrightError):  # the crawl may be over and its context closed
        await route.abort(error_code)


async def _close_popup(page: Any) -> None:
    with contextlib.suppress(PlaywrightError):
        await page.close()


def _host_of(url: str) -> str:
    with contextlib.suppress(ValueError):
        return urlsplit(url).hostname or "?"
    return "?"
