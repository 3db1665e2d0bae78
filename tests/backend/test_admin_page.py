"""The admin page in a real headless Chromium against the real backend on loopback, with
API keys required: light and heavy enrichment roles and a CLIP service on demo weights,
the detector and Florence-2 absent. The page asks for a key before showing data, lists
every service and model the API does, loads and unloads a model, draws the latency
chart, shows a refused delete, a failed download and the stored events."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai.clip.service import ClipService
from ai.runtime.security.keys import ApiKey, Scope, hash_key, write_keys_file
from ai.runtime.store_layout import zoo_folder
from backend.app import create_backend_app
from backend.settings import BackendSettings
from tests.backend.conftest import ABSENT
from tests.enrichment.conftest import LIGHT_MODELS
from tests.support import model_servers
from tests.support.photos import BUS_PERSON_BOX, bus_b64
from tests.support.server import LiveServer

playwright_api = pytest.importorskip("playwright.sync_api")


def _chromium() -> str | None:
    candidates = [os.environ.get("CRAWL_CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"]
    return next((c for c in candidates if c and Path(c).is_file()), None)


CHROMIUM = _chromium()
if CHROMIUM is None:
    pytest.skip(
        "no Chromium executable (set CRAWL_CHROMIUM_PATH, or install /usr/bin/chromium)", allow_module_level=True
    )

ADMIN_KEY = "hsk_admin-page-test-key-0123456789"
ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 15_000  # the page refreshes every 5 s; a change shows within one or two rounds
P50_RGB, P95_RGB = (28, 100, 200), (217, 72, 15)  # the chart's series colours (admin.js SERIES)


@pytest.fixture(scope="module")
def demo_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model store for every service and the backend (so the backend's download status
    and sizes are those of the weights the services run); overrides the session store
    for the ``fleet`` fixture. The heavy role finds none of its weights: it still answers."""
    return model_servers.demo_models(tmp_path_factory.mktemp("admin-store"), "clip", *LIGHT_MODELS)


@pytest.fixture(scope="module")
def backend(
    fleet: tuple[LiveServer, LiveServer], demo_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    light, heavy = fleet
    keys = tmp_path_factory.mktemp("keys") / "api_keys.json"
    write_keys_file(keys, [ApiKey("ops", hash_key(ADMIN_KEY), frozenset({Scope.ADMIN}))])
    with model_servers.model_server(ClipService, demo_models) as clip:
        settings = BackendSettings(
            ENRICHMENT_LIGHT_URL=light.url,
            ENRICHMENT_URL=heavy.url,
            DETECTOR_URL=ABSENT,
            FLORENCE_URL=ABSENT,
            CLIP_URL=clip,
            LLM_URL=ABSENT,
            DATA_DIR=str(tmp_path_factory.mktemp("backend-data")),
            AI_MODELS_PATH=str(demo_models),
            HF_HOME=str(tmp_path_factory.mktemp("hf-home")),
            API_KEYS_FILE=str(keys),
            AUTH_ENABLED="true",  # keys even from loopback (AUTH_ALLOW_LOOPBACK is off by default)
        )
        with LiveServer(create_backend_app(settings)) as server:
            yield {"backend": server.url, "clip": clip}


def api(method: str, url: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


def new_page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the delete confirmation
    return page


def enter_key(page: Any) -> None:
    page.fill("#api-key", ADMIN_KEY)
    page.click("#key-save")
    page.wait_for_selector("tr[data-model]", timeout=WAIT_MS)


@pytest.fixture(scope="module")
def page(browser: Any, backend: dict[str, str]) -> Iterator[Any]:
    """One page with the admin key entered, shared by the tests below."""
    page = new_page(browser)
    page.goto(f"{backend['backend']}/admin")
    enter_key(page)
    yield page
    page.context.close()


def expect(locator: Any) -> Any:
    return playwright_api.expect(locator)


def test_the_page_loads_cleanly_and_asks_for_a_key_before_showing_any_data(
    browser: Any, backend: dict[str, str]
) -> None:
    page = new_page(browser)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    response = page.goto(f"{backend['backend']}/admin")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]

    expect(page.locator("#backend-status")).to_contain_text("backend: ", timeout=WAIT_MS)
    expect(page.locator("#health-status")).not_to_have_text("…")  # /health is public: shown at once
    expect(page.locator("#auth-message")).to_be_visible()
    expect(page.locator("#auth-message")).to_contain_text("admin API key")
    expect(page.locator("#models-card")).to_be_hidden()
    assert page.locator("tr[data-model]").count() == 0

    enter_key(page)
    expect(page.locator("#auth-message")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('fleet-admin-api-key')") == ADMIN_KEY
    assert ADMIN_KEY not in page.url and ADMIN_KEY not in page.content()  # the field is emptied once saved
    page.wait_for_timeout(500)  # let the first round's last requests land
    assert problems == []
    page.context.close()


def test_a_refused_key_shows_a_message_asking_for_an_admin_key(browser: Any, backend: dict[str, str]) -> None:
    page = new_page(browser)
    page.goto(f"{backend['backend']}/admin")
    page.fill("#api-key", "hsk_not-a-key-of-this-fleet")
    page.click("#key-save")
    message = page.locator("#auth-message")
    expect(message).to_contain_text("was refused", timeout=WAIT_MS)
    expect(message).to_contain_text("admin API key")
    expect(page.locator("#models-card")).to_be_hidden()
    page.context.close()


def test_where_the_backend_requires_no_key_the_page_shows_the_fleet_without_one(browser: Any, tmp_path: Path) -> None:
    settings = BackendSettings(
        ENRICHMENT_LIGHT_URL=ABSENT,
        ENRICHMENT_URL=ABSENT,
        DETECTOR_URL=ABSENT,
        FLORENCE_URL=ABSENT,
        CLIP_URL=ABSENT,
        LLM_URL=ABSENT,
        DATA_DIR=str(tmp_path / "data"),
        AI_MODELS_PATH=str(tmp_path / "models"),
        HOST="127.0.0.1",
    )
    with LiveServer(create_backend_app(settings)) as server:
        page = new_page(browser)
        page.goto(f"{server.url}/admin")
        page.wait_for_selector("tr[data-model='clip']", timeout=WAIT_MS)
        expect(page.locator("#auth-message")).to_be_hidden()
        page.context.close()


def test_every_service_and_model_of_the_api_is_shown(page: Any, backend: dict[str, str]) -> None:
    listing = api("GET", f"{backend['backend']}/api/models").json()
    services = {s["name"]: s for s in listing["services"]}
    assert {"light", "heavy", "clip", "detector", "florence"} <= set(services)
    for name, service in services.items():
        item = page.locator(f"li.service[data-service='{name}']")
        expect(item).to_be_visible()
        if service["reachable"]:
            expect(item.locator("[data-field='memory']")).to_contain_text(f"{round(service['vram_budget_mb'])} MB")
        else:
            expect(item).to_contain_text("unreachable")
            expect(item.locator("[data-field='reason']")).to_have_text(service["reason"])
    assert not services["detector"]["reachable"] and not services["florence"]["reachable"]

    shown = page.eval_on_selector_all("tr[data-model]", "rows => rows.map(r => r.dataset.model)")
    assert sorted(shown) == sorted(m["id"] for m in listing["models"])
    clip = page.locator("tr[data-model='clip']")
    expect(clip.locator("[data-field='download']")).to_have_text("demo")
    assert clip.locator("[data-field='size']").inner_text().endswith("MB")
    expect(page.locator("#circuits tr[data-service='clip'] [data-field='circuit']")).to_have_text("closed")


def test_unload_then_load_of_clip_changes_its_row_and_the_clip_service(page: Any, backend: dict[str, str]) -> None:
    row = page.locator("tr[data-model='clip']")
    expect(row.locator("[data-field='state']")).to_have_text("loaded", timeout=WAIT_MS)

    def clip_loaded() -> bool:
        status = httpx.get(f"{backend['clip']}/models/status", timeout=30).json()
        return next(m for m in status["registered_models"] if m["name"] == "clip")["loaded"]

    row.locator("button[data-action='unload']").click()
    expect(row.locator("[data-field='state']")).to_have_text("unloaded", timeout=WAIT_MS)
    assert not clip_loaded()
    expect(row.locator("button[data-action='unload']")).to_be_disabled()

    row.locator("button[data-action='load']").click()
    expect(row.locator("[data-field='state']")).to_have_text("loaded", timeout=WAIT_MS)
    assert clip_loaded()
    expect(page.locator("#alert")).to_be_hidden()


def test_the_latency_chart_draws_p50_and_p95_once_an_enrichment_model_has_history(
    page: Any, backend: dict[str, str]
) -> None:
    body = {"image": bus_b64(), "bbox": BUS_PERSON_BOX, "detection_type": "person"}
    for _ in range(3):
        response = api("POST", f"{backend['backend']}/api/enrich", json=body)
        assert response.status_code == 200, response.text

    expect(page.locator("#latency-empty")).to_be_hidden(timeout=WAIT_MS)
    chosen = page.input_value("#latency-model")
    history = api("GET", f"{backend['backend']}/api/system/model-zoo/latency/history", params={"model": chosen}).json()
    assert history["has_data"], chosen
    pixels = page.evaluate(
        """([p50, p95]) => {
            const canvas = document.getElementById("latency-chart");
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            const near = (i, rgb) => data[i + 3] === 255 && rgb.every((v, k) => Math.abs(data[i + k] - v) < 12);
            const counts = {painted: 0, p50: 0, p95: 0};
            for (let i = 0; i < data.length; i += 4) {
                if (data[i + 3] > 0) counts.painted += 1;
                if (near(i, p50)) counts.p50 += 1;
                if (near(i, p95)) counts.p95 += 1;
            }
            return counts;
        }""",
        [P50_RGB, P95_RGB],
    )
    assert pixels["painted"] > 1000 and pixels["p50"] > 10 and pixels["p95"] > 10, pixels
    expect(page.locator("#latency-summary")).to_contain_text("p95")


def test_deleting_a_loaded_model_is_refused_with_the_409_message_shown(
    page: Any, backend: dict[str, str], demo_models: Path
) -> None:
    row = page.locator("tr[data-model='clip']")
    expect(row.locator("[data-field='state']")).to_have_text("loaded", timeout=WAIT_MS)
    row.locator("button[data-action='delete']").click()
    alert = page.locator("#alert[role='alert']")
    expect(alert).to_be_visible(timeout=WAIT_MS)
    expect(alert).to_contain_text("clip is loaded on the clip service; unload it first")
    assert zoo_folder(demo_models, "clip").is_dir()  # nothing was removed
    page.click("#alert-close")
    expect(alert).to_be_hidden()


def test_a_download_shows_as_a_job_with_its_failure(
    page: Any, backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", ABSENT)  # the hub, unreachable at once (the job's child reads it)
    row = page.locator("tr[data-model='florence']")
    expect(row.locator("[data-field='download']")).to_have_text("missing")
    row.locator("button[data-action='download']").click()
    job = page.locator("li.job[data-model='florence']")
    expect(job).to_be_visible(timeout=WAIT_MS)
    expect(job).to_contain_text("failed", timeout=60_000)
    jobs = api("GET", f"{backend['backend']}/api/jobs").json()["jobs"]
    expect(job.locator("[data-field='error']")).to_have_text(jobs[0]["error"])
    expect(row.locator("button[data-action='download']")).to_be_enabled()  # it may be tried again


def test_recent_events_list_an_analysed_frame(page: Any, backend: dict[str, str]) -> None:
    taken = time.time()
    response = api("POST", f"{backend['backend']}/api/analyze", json={"image": bus_b64(), "camera_id": "front-door"})
    assert response.status_code == 200, response.text
    event = response.json()
    row = page.locator(f"#events tr[data-event='{event['id']}']")
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(row.locator("[data-field='camera']")).to_have_text("front-door")
    assert event["timestamp"] >= taken - 1


def test_a_full_page_screenshot_is_saved_as_an_artefact(page: Any) -> None:
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "admin-page.png"
    page.locator("#latency-empty").wait_for(state="hidden", timeout=WAIT_MS)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
