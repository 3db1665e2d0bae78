"""POST /api/crawl over real HTTP: the backend on loopback driving real headless Chromium
against pages this module serves itself. The guard is proved where it matters: a refused
address is never contacted, not by the page, a redirect hop or a subresource."""

from __future__ import annotations

import base64
import http.server
import io
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from ai.contracts.homelab import CrawlRequest
from ai.runtime.errors import ServiceError
from backend.app import create_backend_app
from backend.crawl import browser as browser_module
from backend.crawl.browser import CHROMIUM_CANDIDATES, Crawler, visible_text
from backend.crawl.guard import check_url, host_allowed
from backend.settings import BackendSettings
from tests.backend.conftest import OTHER_SERVICES
from tests.support.images import png_bytes
from tests.support.server import LiveServer, free_port


def _chromium() -> Path | None:
    configured = os.environ.get("CRAWL_CHROMIUM_PATH")
    found = [Path(configured)] if configured else list(CHROMIUM_CANDIDATES)
    return next((p for p in found if p.is_file() and os.access(p, os.X_OK)), None)


CHROMIUM = _chromium()
try:
    import playwright  # noqa: F401

    MISSING = None if CHROMIUM else "no Chromium executable (apt-get install chromium, or set CRAWL_CHROMIUM_PATH)"
except ImportError:
    MISSING = "playwright is not installed (pip install '.[crawl]')"
browser = pytest.mark.skipif(MISSING is not None, reason=f"needs headless Chromium: {MISSING}")

PIXEL = png_bytes(4, 4, "red")
MAIN_PAGE = """<!doctype html><html><head><title>Crawl test page</title></head><body>
<h1>Hello from the test page</h1>


<p>Second paragraph</p>
<div style="display:none">hidden secret text</div>
<img src="/pixel.png" onload="document.body.insertAdjacentHTML('beforeend', '<p>image loaded</p>')">
<img src="/pixel-via-redirect"
  onload="document.body.insertAdjacentHTML('beforeend', '<p>redirected image loaded</p>')">
<p id="late"></p>
<script>
window.addEventListener('load', () => fetch('/late').then(r => r.text()).then(t => {
  document.getElementById('late').textContent = t;
}));
</script>
</body></html>"""
REFUSED_IMAGE_PAGE = """<!doctype html><html><head><title>Refused image</title></head><body>
<p>Page with a refused image</p>
<img src="http://127.0.0.1:{port}/pixel.png?refused"
  onerror="document.body.insertAdjacentHTML('beforeend', '<p>image refused</p>')">
</body></html>"""
REDIRECTED_IMAGE_PAGE = """<!doctype html><html><head><title>Redirected image</title></head><body>
<p>Page with a redirected image</p>
<img src="/to-refused" onerror="document.body.insertAdjacentHTML('beforeend', '<p>image refused</p>')">
<script>
const socket = new WebSocket('ws://127.0.0.1:{port}/ws');
socket.onerror = () => document.body.insertAdjacentHTML('beforeend', '<p>socket refused</p>');
</script>
</body></html>"""
POLLING_PAGE = """<!doctype html><html><head><title>Polling</title></head><body><p>Polling page</p>
<script>setInterval(() => fetch('/tick'), 150);</script></body></html>"""


class Site(http.server.ThreadingHTTPServer):
    """The pages to crawl, and every request they received (Host header, path)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port = self.server_address[1]
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def paths(self) -> list[str]:
        with self.lock:
            return [path for _host, path in self.seen]

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Site

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.seen.append((self.headers.get("Host", ""), self.path))
        port = self.server.port
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(200, MAIN_PAGE.encode(), "text/html")
        elif path == "/late":
            time.sleep(0.4)  # well after load: only a crawl that waits for the network sees it
            self._send(200, b"Added by script after load", "text/plain")
        elif path == "/pixel.png":
            self._send(200, PIXEL, "image/png")
        elif path == "/pixel-via-redirect":
            self._send(302, b"", "text/plain", {"Location": f"http://127.0.0.1:{port}/pixel.png"})
        elif path == "/r":
            self._send(302, b"", "text/plain", {"Location": "/"})
        elif path == "/a":
            self._send(302, b"", "text/plain", {"Location": f"http://127.0.0.1:{port}/b"})
        elif path == "/b":
            self._send(200, b"<title>B</title><p>page b</p>", "text/html")
        elif path == "/refused-image":
            self._send(200, REFUSED_IMAGE_PAGE.format(port=port).encode(), "text/html")
        elif path == "/redirected-image":
            self._send(200, REDIRECTED_IMAGE_PAGE.replace("{port}", str(port)).encode(), "text/html")
        elif path == "/to-refused":
            self._send(302, b"", "text/plain", {"Location": f"http://127.0.0.1:{port}/pixel.png?via-redirect"})
        elif path == "/polling":
            self._send(200, POLLING_PAGE.encode(), "text/html")
        elif path == "/tick":
            self._send(200, b"tick", "text/plain")
        elif path == "/slow":
            time.sleep(6)
            self._send(200, b"<p>too late</p>", "text/html")
        else:
            self._send(404, b"<title>Not here</title><p>no such page</p>", "text/html")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _serve(tmp_path_factory: pytest.TempPathFactory, name: str, **env: Any) -> Iterator[httpx.Client]:
    backend = BackendSettings(**OTHER_SERVICES, DATA_DIR=str(tmp_path_factory.mktemp(name)), **env)
    server = LiveServer(create_backend_app(backend)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture(scope="module")
def open_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """Private addresses allowed: the test pages on loopback can be crawled."""
    yield from _serve(tmp_path_factory, "open", CRAWL_ALLOW_PRIVATE=True)


@pytest.fixture(scope="module")
def default_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """As deployed by default: public addresses only."""
    yield from _serve(tmp_path_factory, "default")


@pytest.fixture(scope="module")
def allowlist_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """Private allowed, but only the hosts example.com and localhost (so 127.0.0.1 is refused)."""
    yield from _serve(
        tmp_path_factory,
        "allowlist",
        CRAWL_ALLOW_PRIVATE=True,
        CRAWL_ALLOWED_HOSTS="example.com,localhost",
        CRAWL_TIMEOUT_SECONDS=4,
    )


def settings(**env: Any) -> BackendSettings:
    return BackendSettings(**OTHER_SERVICES, DATA_DIR="unused", **env)


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-ID"]
    return error


# -- the guard alone (no browser) --------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "192.168.1.1",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "127.0.0.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[fe80::1]",
        "[fd00::1]",
        "[2002:7f00:1::]",
        "2130706433",
        "0177.0.0.1",
        "0.0.0.0",
        "[::]",
        "224.0.0.1",
        "localhost",
    ],
)
async def test_the_guard_refuses_every_non_public_address_and_names_the_setting(host: str) -> None:
    with pytest.raises(ServiceError) as refused:
        await check_url(f"http://{host}:8080/x", settings())
    assert refused.value.status == 403
    assert "CRAWL_ALLOW_PRIVATE=true" in refused.value.message
    assert refused.value.details["address_class"]


async def test_the_guard_allows_private_addresses_when_told_to() -> None:
    parsed = await check_url("http://127.0.0.1:8080/x", settings(CRAWL_ALLOW_PRIVATE=True))
    assert parsed.hostname == "127.0.0.1"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)", "http:///x", "http://[::1/"]
)
async def test_the_guard_takes_http_and_https_urls_with_a_host_only(url: str) -> None:
    with pytest.raises(ServiceError) as refused:
        await check_url(url, settings(CRAWL_ALLOW_PRIVATE=True))
    assert refused.value.status == 422


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1\\@example.com/", "http://example.com\t@127.0.0.1/", "http://a@b@example.com/"]
)
async def test_urls_a_browser_would_read_as_another_host_are_refused(url: str) -> None:
    """Python reads the host of ``http://127.0.0.1\\@example.com/`` as example.com, a browser
    as 127.0.0.1: such a redirect target must not pass the check and then be fetched."""
    with pytest.raises(ServiceError) as refused:
        await check_url(url, settings())
    assert refused.value.status == 422


async def test_a_host_that_does_not_resolve_is_a_failed_fetch() -> None:
    with pytest.raises(ServiceError) as failed:
        await check_url("http://no-such-host.invalid/", settings())
    assert failed.value.status == 502 and failed.value.code == "FETCH_FAILED"


def test_an_allowed_host_wildcard_matches_subdomains_only() -> None:
    allowed = ["*.example.com", "exact.org"]
    assert host_allowed("a.example.com", allowed) and host_allowed("b.a.example.com", allowed)
    assert host_allowed("exact.org", allowed)
    for host in ("example.com", "example.com.evil.net", "evilexample.com", "sub.exact.org"):
        assert not host_allowed(host, allowed), host


async def test_the_allow_list_refuses_other_hosts_even_with_private_allowed() -> None:
    with pytest.raises(ServiceError) as refused:
        await check_url("http://127.0.0.1/", settings(CRAWL_ALLOW_PRIVATE=True, CRAWL_ALLOWED_HOSTS="example.com"))
    assert refused.value.status == 403 and "CRAWL_ALLOWED_HOSTS" in refused.value.message


def test_visible_text_strips_lines_and_collapses_blank_runs() -> None:
    assert visible_text("  a  \n\n\n\n b\n\t\n c ", 1000) == "a\n\nb\n\nc"
    assert visible_text("x" * 5000, 1000) == "x" * 1000


async def test_a_crawler_that_cannot_work_says_how_to_fix_it() -> None:
    off = Crawler(settings(CRAWL_ENABLED=False))
    missing = Crawler(settings(CRAWL_CHROMIUM_PATH="/nonexistent/chromium"))
    for crawler, hint in ((off, "CRAWL_ENABLED=false"), (missing, "CRAWL_CHROMIUM_PATH")):
        with pytest.raises(ServiceError) as unavailable:
            await crawler.crawl(CrawlRequest(url="https://example.com/"))
        assert unavailable.value.status == 503 and hint in unavailable.value.message


# -- the route, real Chromium ------------------------------------------------------------


@browser
def test_a_page_is_crawled_with_its_title_visible_text_and_script_output(
    open_backend: httpx.Client, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="backend.crawl.browser")
    url = f"http://127.0.0.1:{site.port}/"
    response = open_backend.post("/api/crawl", json={"url": url})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == "Crawl test page"
    assert body["url"] == url and body["status_code"] == 200
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert body["fetch_time_ms"] > 0 and body["screenshot_base64"] is None
    text = body["text"]
    assert text.startswith("Hello from the test page\n\nSecond paragraph")  # blank runs collapsed
    assert "Added by script after load" in text
    assert "\nimage loaded" in text and "redirected image loaded" in text  # subresources, redirect followed
    assert "hidden secret" not in text
    assert "crawl 127.0.0.1: status 200 in" in caplog.text and "Hello from" not in caplog.text


@browser
def test_without_waiting_for_scripts_the_late_text_is_not_there(open_backend: httpx.Client, site: Site) -> None:
    response = open_backend.post("/api/crawl", json={"url": f"http://127.0.0.1:{site.port}/", "wait_for_js": False})
    assert response.status_code == 200, response.text
    assert "Hello from the test page" in response.json()["text"]
    assert "Added by script" not in response.json()["text"]


@browser
def test_a_screenshot_is_a_png_of_the_viewport(open_backend: httpx.Client, site: Site) -> None:
    response = open_backend.post("/api/crawl", json={"url": f"http://127.0.0.1:{site.port}/", "screenshot": True})
    assert response.status_code == 200, response.text
    png = base64.b64decode(response.json()["screenshot_base64"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size == (1280, 800)


@browser
def test_redirects_are_followed_to_the_final_url(open_backend: httpx.Client, site: Site) -> None:
    response = open_backend.post("/api/crawl", json={"url": f"http://127.0.0.1:{site.port}/r"})
    assert response.status_code == 200, response.text
    assert response.json()["url"] == f"http://127.0.0.1:{site.port}/"
    assert response.json()["title"] == "Crawl test page"


@browser
def test_an_error_page_is_a_crawl_with_its_status(open_backend: httpx.Client, site: Site) -> None:
    response = open_backend.post("/api/crawl", json={"url": f"http://127.0.0.1:{site.port}/missing"})
    assert response.status_code == 200, response.text
    assert response.json()["status_code"] == 404 and response.json()["title"] == "Not here"


@browser
def test_a_closed_port_is_a_failed_fetch_and_the_next_crawl_works(open_backend: httpx.Client, site: Site) -> None:
    closed = open_backend.post("/api/crawl", json={"url": f"http://127.0.0.1:{free_port()}/"})
    error = assert_envelope(closed, 502, "FETCH_FAILED")
    assert "could not fetch" in error["message"]
    again = open_backend.post("/api/crawl", json={"url": f"http://127.0.0.1:{site.port}/"})
    assert again.status_code == 200 and again.json()["title"] == "Crawl test page"


@browser
def test_a_private_address_is_refused_by_default_and_never_contacted(default_backend: httpx.Client, site: Site) -> None:
    site.clear()
    response = default_backend.post("/api/crawl", json={"url": f"http://127.0.0.1:{site.port}/"})
    error = assert_envelope(response, 403, "FORBIDDEN")
    assert "loopback" in error["message"] and "CRAWL_ALLOW_PRIVATE=true" in error["message"]
    assert site.paths() == []


@browser
@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/file"])
def test_other_schemes_are_invalid(default_backend: httpx.Client, url: str) -> None:
    assert_envelope(default_backend.post("/api/crawl", json={"url": url}), 422, "INVALID_REQUEST")


@pytest.mark.parametrize(
    "body", [{}, {"url": "https://example.com/", "extra": 1}, {"url": "https://example.com/", "screenshot": "x"}]
)
@browser
def test_a_bad_body_is_invalid(default_backend: httpx.Client, body: dict[str, Any]) -> None:
    assert_envelope(default_backend.post("/api/crawl", json=body), 422, "INVALID_REQUEST")


@browser
def test_a_host_outside_the_allow_list_is_refused(allowlist_backend: httpx.Client, site: Site) -> None:
    site.clear()
    response = allowlist_backend.post("/api/crawl", json={"url": f"http://127.0.0.1:{site.port}/"})
    assert "CRAWL_ALLOWED_HOSTS" in assert_envelope(response, 403, "FORBIDDEN")["message"]
    assert site.paths() == []


@browser
def test_a_redirect_to_a_refused_host_is_refused_and_never_requested(
    allowlist_backend: httpx.Client, site: Site
) -> None:
    site.clear()
    response = allowlist_backend.post("/api/crawl", json={"url": f"http://localhost:{site.port}/a"})
    error = assert_envelope(response, 403, "FORBIDDEN")
    assert f"http://127.0.0.1:{site.port}/b" in error["message"] and "CRAWL_ALLOWED_HOSTS" in error["message"]
    assert site.paths() == ["/a"]


@browser
def test_a_refused_subresource_is_blocked_while_the_page_crawls(allowlist_backend: httpx.Client, site: Site) -> None:
    site.clear()
    response = allowlist_backend.post("/api/crawl", json={"url": f"http://localhost:{site.port}/refused-image"})
    assert response.status_code == 200, response.text
    assert "Page with a refused image" in response.json()["text"]
    assert "image refused" in response.json()["text"]
    assert site.paths() == ["/refused-image"]


@browser
async def test_subresource_redirect_hops_and_websockets_to_a_refused_host_never_reach_it(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Playwright routes neither a redirect hop nor a WebSocket; Chromium's own Local Network
    Access checks would stop these on loopback, so they are off here, as they are for a
    refused public host: what stops them is the crawler."""
    lna_off = "--disable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets"
    monkeypatch.setattr(browser_module, "NO_NETWORK_ARGS", [*browser_module.NO_NETWORK_ARGS, lna_off])
    crawler = Crawler(settings(CRAWL_ALLOW_PRIVATE=True, CRAWL_ALLOWED_HOSTS="localhost"))
    site.clear()
    try:
        crawled = await crawler.crawl(CrawlRequest(url=f"http://localhost:{site.port}/redirected-image"))
    finally:
        await crawler.close()
    assert crawled.status_code == 200 and "image refused" in crawled.text and "socket refused" in crawled.text
    assert site.paths() == ["/redirected-image", "/to-refused"]


@browser
def test_a_page_that_never_goes_quiet_is_read_within_the_timeout(allowlist_backend: httpx.Client, site: Site) -> None:
    started = time.monotonic()
    response = allowlist_backend.post("/api/crawl", json={"url": f"http://localhost:{site.port}/polling"})
    assert response.status_code == 200, response.text
    assert response.json()["text"] == "Polling page"
    assert time.monotonic() - started < 4 + 2


@browser
def test_a_page_slower_than_the_timeout_is_a_failed_fetch(allowlist_backend: httpx.Client, site: Site) -> None:
    response = allowlist_backend.post("/api/crawl", json={"url": f"http://localhost:{site.port}/slow"})
    assert "CRAWL_TIMEOUT_SECONDS" in assert_envelope(response, 502, "FETCH_FAILED")["message"]


@browser
async def test_the_browser_is_started_again_after_it_went_away(site: Site) -> None:
    crawler = Crawler(settings(CRAWL_ALLOW_PRIVATE=True))
    request = CrawlRequest(url=f"http://127.0.0.1:{site.port}/b", wait_for_js=False)
    try:
        assert (await crawler.crawl(request)).title == "B"
        await crawler._browser.close()  # as if Chromium crashed
        assert (await crawler.crawl(request)).title == "B"
    finally:
        await crawler.close()
