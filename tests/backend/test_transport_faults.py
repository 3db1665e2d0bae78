"""Every transport fault (a service killed mid-request, a reset, a protocol error, a full
pool, ...) is retried under the one policy, counted by the breaker, and reaches the caller
as that service's models' errors in a 200 result, never as a 500. While a breaker is open
the client probes the service's /ready and lets trial calls through when it answers 200."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.app import create_backend_app
from backend.enrichment_client.client import EnrichmentClient
from backend.enrichment_client.errors import EnrichmentCallError
from backend.enrichment_client.policy import BreakerState
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from tests.backend.conftest import backend_client
from tests.support.photos import BUS_PERSON_BOX, bus_b64
from tests.support.server import LiveServer, free_port
from tests.support.stub_service import DropMode, DroppingServer, Script, frame_answer, stub_app

PERSON = {"image": bus_b64(), "bbox": BUS_PERSON_BOX, "detection_type": "person", "detection_id": "p1"}
LIGHT_PERSON_MODELS = ["threat_detector", "pose_estimator", "person_reid"]
HEAVY_PERSON_MODELS = ["age_classifier", "gender_classifier"]
FAST_RETRIES = {"ENRICHMENT_RETRY_BASE_SECONDS": 0.01, "ENRICHMENT_RETRY_MAX_SECONDS": 0.02}


def _metric(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def _heavy_ok() -> Script:
    return Script(lambda _n: (200, frame_answer({"p1": "person"}, HEAVY_PERSON_MODELS), {}))


@pytest.mark.parametrize(
    ("mode", "exception"),
    [("reset", "ReadError"), ("headers_then_reset", "ReadError"), ("close", "RemoteProtocolError")],
)
def test_a_connection_dropped_mid_request_is_retried_counted_and_answered_200(
    mode: DropMode, exception: str, tmp_path: Path
) -> None:
    heavy_script = _heavy_ok()
    with (
        DroppingServer(mode) as light,
        LiveServer(stub_app(heavy_script)) as heavy,
        backend_client(light.url, heavy.url, tmp_path, ENRICHMENT_RETRY_ATTEMPTS=3, **FAST_RETRIES) as backend,
    ):
        response = backend.post("/api/enrich", json=PERSON)
        metrics = backend.get("/metrics").text
        breaker = backend.app.state.backend.client.services["light"].breaker
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "PARTIAL", "heavy's models still ran"
    assert sorted(result["models_used"]) == sorted(HEAVY_PERSON_MODELS)
    for model in LIGHT_PERSON_MODELS:
        error = result["errors"][model]
        assert (error["code"], error["service"]) == ("SERVICE_UNREACHABLE", "light")
        assert exception in error["message"], error["message"]
    assert result["services"]["light"]["ok"] is False
    assert light.requests == ["POST /enrich HTTP/1.1"] * 3, "one attempt and two retries"
    assert _metric(metrics, 'backend_enrichment_retries_total{service="light"}') == 2.0
    assert _metric(metrics, 'backend_enrichment_retries_total{service="heavy"}') == 0.0
    assert breaker.failures == 3, "the breaker counted every failed attempt"
    assert breaker.state is BreakerState.CLOSED, "3 failures < ENRICHMENT_BREAKER_FAILURES (5)"


def test_dropped_connections_open_the_breaker(tmp_path: Path) -> None:
    env = {"ENRICHMENT_RETRY_ATTEMPTS": 3, "ENRICHMENT_BREAKER_FAILURES": 3, **FAST_RETRIES}
    with (
        DroppingServer("reset") as light,
        LiveServer(stub_app(_heavy_ok())) as heavy,
        backend_client(light.url, heavy.url, tmp_path, ENRICHMENT_READY_PROBE_SECONDS=0, **env) as backend,
    ):
        first = backend.post("/api/enrich", json=PERSON)
        second = backend.post("/api/enrich", json=PERSON)
        health = backend.get("/health").json()
    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["errors"]["pose_estimator"]["code"] == "SERVICE_UNREACHABLE"
    assert second.json()["errors"]["pose_estimator"]["code"] == "CIRCUIT_OPEN"
    assert len(light.requests) == 3, "the open circuit kept the second call off the service"
    assert health["enrichment"]["light"]["circuit"] == "open" and health["status"] == "degraded"


TRANSPORT_ERRORS = [
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.PoolTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.CloseError,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.LocalProtocolError,
    httpx.ProtocolError,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.TransportError,
]


@pytest.mark.parametrize("error", TRANSPORT_ERRORS, ids=lambda e: e.__name__)
def test_every_transport_error_class_is_retried_counted_and_never_a_500(
    error: type[httpx.TransportError], tmp_path: Path
) -> None:
    """Each class the transport can raise, injected below the client."""
    attempts: list[str] = []

    def fail(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.host)
        raise error(f"injected {error.__name__}", request=request)

    settings = BackendSettings(
        ENRICHMENT_LIGHT_URL="http://light.invalid",
        ENRICHMENT_URL="http://heavy.invalid",
        ENRICHMENT_RETRY_ATTEMPTS=3,
        ENRICHMENT_READY_PROBE_SECONDS=0,
        DATA_DIR=str(tmp_path),
        **FAST_RETRIES,
    )
    app = create_backend_app(settings, transport=httpx.MockTransport(fail))
    with TestClient(app) as backend:
        response = backend.post("/api/enrich", json=PERSON)
        metrics = backend.get("/metrics").text
        services = app.state.backend.client.services
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "FAILED"
    expected = "TIMEOUT" if issubclass(error, httpx.TimeoutException) else "SERVICE_UNREACHABLE"
    assert {e["code"] for e in result["errors"].values()} == {expected}
    assert sorted(attempts) == ["heavy.invalid"] * 3 + ["light.invalid"] * 3
    for name in ("light", "heavy"):
        assert _metric(metrics, f'backend_enrichment_retries_total{{service="{name}"}}') == 2.0
        assert services[name].breaker.failures == 3


def _open_breaker_client(url: str, **env: object) -> tuple[EnrichmentClient, BackendSettings]:
    settings = BackendSettings(
        ENRICHMENT_LIGHT_URL=url,
        ENRICHMENT_URL=url,
        ENRICHMENT_RETRY_ATTEMPTS=1,
        ENRICHMENT_BREAKER_FAILURES=1,
        ENRICHMENT_BREAKER_COOLDOWN_SECONDS=60,
        **env,
    )
    return EnrichmentClient(settings, BackendMetrics()), settings


def test_ready_probe_half_opens_the_breaker_as_soon_as_the_service_is_ready() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    reid = {"embedding": [1.0], "embedding_dim": 1, "model": "x", "inference_time_ms": 1.0}
    script = Script(lambda _n: (200, reid, {}))
    script.ready_status = 503

    async def scenario() -> None:
        client, _ = _open_breaker_client(url, ENRICHMENT_READY_PROBE_SECONDS=0.1)
        light = client.services["light"]
        try:
            with pytest.raises(EnrichmentCallError):
                await client.person_reid("aGVsbG8=")
            assert light.breaker.state is BreakerState.OPEN
            assert light._probe is not None and not light._probe.done(), "opening started the probe"
            server = LiveServer(stub_app(script), port=port).start()
            try:
                await asyncio.sleep(0.5)
                assert script.readies >= 2, "the probe asks /ready"
                assert light.breaker.state is BreakerState.OPEN, "/ready 503: still open"
                with pytest.raises(EnrichmentCallError) as err:
                    await client.person_reid("aGVsbG8=")
                assert err.value.code == "CIRCUIT_OPEN" and script.calls == []
                script.ready_status = 200
                started = time.monotonic()
                while light.breaker.state is BreakerState.OPEN:
                    assert time.monotonic() - started < 2.0, "the probe did not half-open the breaker"
                    await asyncio.sleep(0.02)
                assert light.breaker.state is BreakerState.HALF_OPEN  # 60 s cool-down not waited for
                answer = await client.person_reid("aGVsbG8=")
                assert answer.embedding_dim == 1 and light.breaker.state is BreakerState.CLOSED
                probe = light._probe
                await asyncio.sleep(0.3)
                assert probe is not None and probe.done(), "a closed breaker ends the probe"
                readies = script.readies
                await asyncio.sleep(0.3)
                assert script.readies == readies, "no probing while closed"
            finally:
                server.stop()
        finally:
            await client.close()

    asyncio.run(scenario())


def test_closing_the_client_stops_the_probe() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    async def scenario() -> None:
        client, _ = _open_breaker_client(url, ENRICHMENT_READY_PROBE_SECONDS=0.05)
        with pytest.raises(EnrichmentCallError):
            await client.person_reid("aGVsbG8=")
        probe = client.services["light"]._probe
        assert probe is not None and not probe.done()
        await client.close()
        assert probe.done()

    asyncio.run(scenario())


def test_no_probe_when_switched_off() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    async def scenario() -> None:
        client, _ = _open_breaker_client(url, ENRICHMENT_READY_PROBE_SECONDS=0)
        try:
            with pytest.raises(EnrichmentCallError):
                await client.person_reid("aGVsbG8=")
            assert client.services["light"].breaker.state is BreakerState.OPEN
            assert client.services["light"]._probe is None
        finally:
            await client.close()

    asyncio.run(scenario())
