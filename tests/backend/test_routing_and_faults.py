"""Routing by ENRICHMENT_<KEY>_SERVICE, and what the client does when services fail."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from backend.enrichment_client.client import EnrichmentClient
from backend.enrichment_client.errors import EnrichmentCallError
from backend.enrichment_client.policy import BreakerState
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from tests.backend.conftest import backend_client
from tests.enrichment.conftest import enrichment_server
from tests.support.photos import BUS_PERSON_BOX, bus_b64
from tests.support.server import LiveServer, free_port
from tests.support.stub_service import Script, error_body, stub_app

PERSON = {"image": bus_b64(), "bbox": BUS_PERSON_BOX, "detection_type": "person", "detection_id": "p1"}


def _metric(url: str, series: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_pose_flipped_to_heavy_on_both_sides_goes_to_heavy(
    demo_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENRICHMENT_POSE_SERVICE", "heavy")
    with (
        enrichment_server("light", demo_models) as light,
        enrichment_server("heavy", demo_models) as heavy,
        backend_client(light.url, heavy.url, tmp_path) as backend,
    ):
        result = backend.post("/api/enrich", json=PERSON).json()
        heavy_pose_runs = _metric(heavy.url, 'enrichment_heavy_model_inference_seconds_count{model="pose_estimator"}')
        light_pose_runs = _metric(light.url, 'enrichment_light_model_inference_seconds_count{model="pose_estimator"}')
    assert result["status"] == "FULL", result["errors"]
    assert "pose_estimator" in result["services"]["heavy"]["models"]
    assert "pose_estimator" not in result["services"]["light"]["models"]
    assert heavy_pose_runs == 1.0, "heavy's own counter proves where pose ran"
    assert light_pose_runs == 0.0


def test_direct_pose_call_follows_the_routing_variable(demo_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENRICHMENT_POSE_SERVICE", "heavy")
    with enrichment_server("light", demo_models) as light, enrichment_server("heavy", demo_models) as heavy:
        settings = BackendSettings(ENRICHMENT_LIGHT_URL=light.url, ENRICHMENT_URL=heavy.url)

        async def call() -> None:
            client = EnrichmentClient(settings, BackendMetrics())
            try:
                await client.pose_analyze(bus_b64(), BUS_PERSON_BOX)
            finally:
                await client.close()

        asyncio.run(call())
        served = _metric(heavy.url, 'enrichment_heavy_inference_requests_total{endpoint="/pose-analyze",status="200"}')
    assert served == 1.0


def test_heavy_down_light_results_still_arrive_as_partial(fleet, tmp_path: Path) -> None:
    light, _heavy = fleet
    dead = f"http://127.0.0.1:{free_port()}"
    with backend_client(light.url, dead, tmp_path, ENRICHMENT_RETRY_ATTEMPTS=2) as backend:
        response = backend.post("/api/enrich", json=PERSON)
        health = backend.get("/health").json()
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "PARTIAL"
    assert result["pose"] is not None and result["threat_detection"] is not None
    assert result["person_embeddings"]["p1"]["embedding_dimension"] == 512
    for model in ("age_classifier", "gender_classifier"):
        assert result["errors"][model]["code"] == "SERVICE_UNREACHABLE"
        assert result["errors"][model]["service"] == "heavy"
    assert result["services"]["heavy"]["ok"] is False
    assert "Not available: age_classifier (SERVICE_UNREACHABLE)" in result["context"]
    assert health["status"] == "healthy"  # one failure does not open the breaker


def test_breaker_opens_after_n_failures_and_recovers_after_cooldown(demo_models: Path) -> None:
    port = free_port()
    settings = BackendSettings(
        ENRICHMENT_LIGHT_URL=f"http://127.0.0.1:{port}",
        ENRICHMENT_URL="http://127.0.0.1:9",
        ENRICHMENT_RETRY_ATTEMPTS=1,
        ENRICHMENT_BREAKER_FAILURES=3,
        ENRICHMENT_BREAKER_COOLDOWN_SECONDS=1.0,
    )

    async def scenario() -> None:
        client = EnrichmentClient(settings, BackendMetrics())
        light = client.services["light"]
        try:
            for _ in range(3):
                with pytest.raises(EnrichmentCallError) as err:
                    await client.person_reid(bus_b64(), BUS_PERSON_BOX)
                assert err.value.code == "SERVICE_UNREACHABLE"
            assert light.breaker.state is BreakerState.OPEN
            started = time.monotonic()
            with pytest.raises(EnrichmentCallError) as err:
                await client.person_reid(bus_b64(), BUS_PERSON_BOX)
            assert err.value.code == "CIRCUIT_OPEN"
            assert time.monotonic() - started < 0.05, "an open circuit fails at once"
            server = LiveServer(_light_app(demo_models), port=port).start()  # the service comes back
            try:
                await asyncio.sleep(1.1)  # cool-down: the next call is the half-open trial
                answer = await client.person_reid(bus_b64(), BUS_PERSON_BOX)
                assert answer.embedding_dim == 512
                assert light.breaker.state is BreakerState.CLOSED
            finally:
                server.stop()
        finally:
            await client.close()

    asyncio.run(scenario())


def _light_app(models: Path):
    from ai.enrichment.service import EnrichmentService
    from ai.enrichment.settings import EnrichmentSettings
    from ai.runtime.model_service import create_service_app

    return create_service_app(
        EnrichmentService(EnrichmentSettings(ENRICHMENT_ROLE="light", AI_MODELS_PATH=str(models)))
    )


def _client_against(script: Script, **env: object) -> tuple[LiveServer, BackendSettings]:
    server = LiveServer(stub_app(script)).start()
    settings = BackendSettings(
        ENRICHMENT_LIGHT_URL=server.url, ENRICHMENT_URL=server.url, ENRICHMENT_RETRY_BASE_SECONDS=0.01, **env
    )
    return server, settings


def _reid_error(settings: BackendSettings) -> EnrichmentCallError:
    async def call() -> EnrichmentCallError:
        client = EnrichmentClient(settings, BackendMetrics())
        try:
            await client.person_reid("aGVsbG8=")
        except EnrichmentCallError as exc:
            return exc
        finally:
            await client.close()
        raise AssertionError("the call should have failed")

    return asyncio.run(call())


def test_a_400_is_never_retried() -> None:
    script = Script(lambda n: (400, error_body("INVALID_REQUEST", "bad image"), {}))
    server, settings = _client_against(script, ENRICHMENT_RETRY_ATTEMPTS=5)
    try:
        error = _reid_error(settings)
    finally:
        server.stop()
    assert (error.code, error.status, error.message) == ("INVALID_REQUEST", 400, "bad image")
    assert script.calls == ["/person-reid"]


def test_503_with_retry_after_is_retried_and_without_it_is_not() -> None:
    busy = Script(
        lambda n: (
            (503, error_body("RESOURCE_EXHAUSTED"), {"Retry-After": "1"})
            if n < 3
            else (200, {"embedding": [1.0], "embedding_dim": 1, "model": "x", "inference_time_ms": 1.0}, {})
        )
    )
    server, settings = _client_against(busy, ENRICHMENT_RETRY_ATTEMPTS=3, ENRICHMENT_DEADLINE_SECONDS=10)
    try:

        async def call() -> int:
            client = EnrichmentClient(settings, BackendMetrics())
            try:
                return (await client.person_reid("aGVsbG8=")).embedding_dim
            finally:
                await client.close()

        started = time.monotonic()
        assert asyncio.run(call()) == 1
        assert time.monotonic() - started >= 2.0, "Retry-After was honoured"
    finally:
        server.stop()
    assert len(busy.calls) == 3

    unavailable = Script(lambda n: (503, error_body("MODEL_NOT_AVAILABLE", "run pull"), {}))
    server, settings = _client_against(unavailable, ENRICHMENT_RETRY_ATTEMPTS=3)
    try:
        error = _reid_error(settings)
    finally:
        server.stop()
    assert error.code == "MODEL_NOT_AVAILABLE" and len(unavailable.calls) == 1


def test_retry_after_longer_than_the_deadline_is_not_waited_for() -> None:
    script = Script(lambda n: (503, error_body("MODEL_LOAD_FAILED"), {"Retry-After": "60"}))
    server, settings = _client_against(script, ENRICHMENT_RETRY_ATTEMPTS=3, ENRICHMENT_DEADLINE_SECONDS=5)
    try:
        started = time.monotonic()
        error = _reid_error(settings)
    finally:
        server.stop()
    assert error.code == "MODEL_LOAD_FAILED"
    assert time.monotonic() - started < 2.0 and len(script.calls) == 1


def test_a_slow_server_hits_the_deadline() -> None:
    script = Script(lambda n: (200, {}, {}), delay_s=10.0)
    server, settings = _client_against(script, ENRICHMENT_DEADLINE_SECONDS=1.0, ENRICHMENT_RETRY_ATTEMPTS=3)
    try:
        started = time.monotonic()
        error = _reid_error(settings)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert error.code == "TIMEOUT"
    assert elapsed < 2.5, f"gave up after {elapsed:.1f}s; the deadline is 1s"


def test_connection_errors_are_retried_up_to_the_attempts() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = BackendSettings(
        ENRICHMENT_LIGHT_URL=dead, ENRICHMENT_URL=dead, ENRICHMENT_RETRY_ATTEMPTS=3, ENRICHMENT_RETRY_BASE_SECONDS=0.01
    )
    metrics = BackendMetrics()

    async def call() -> None:
        client = EnrichmentClient(settings, metrics)
        try:
            with pytest.raises(EnrichmentCallError):
                await client.person_reid("aGVsbG8=")
        finally:
            await client.close()

    asyncio.run(call())
    assert metrics.enrichment_retries.labels(service="light")._value.get() == 2


def test_concurrency_limit_per_service() -> None:
    peak = {"now": 0, "max": 0}

    def respond(_n: int) -> tuple[int, dict, dict]:
        return 200, {"embedding": [1.0], "embedding_dim": 1, "model": "x", "inference_time_ms": 1.0}, {}

    script = Script(respond, delay_s=0.2)
    app = stub_app(script)

    @app.middleware("http")
    async def count(request, call_next):  # type: ignore[no-untyped-def]
        peak["now"] += 1
        peak["max"] = max(peak["max"], peak["now"])
        try:
            return await call_next(request)
        finally:
            peak["now"] -= 1

    server = LiveServer(app).start()
    settings = BackendSettings(ENRICHMENT_LIGHT_URL=server.url, ENRICHMENT_URL=server.url, ENRICHMENT_MAX_CONCURRENCY=2)
    try:

        async def many() -> None:
            client = EnrichmentClient(settings, BackendMetrics())
            try:
                await asyncio.gather(*(client.person_reid("aGVsbG8=") for _ in range(6)))
            finally:
                await client.close()

        asyncio.run(many())
    finally:
        server.stop()
    assert peak["max"] == 2 and len(script.calls) == 6


def test_bad_image_to_the_backend_is_a_4xx_envelope_and_it_stays_up(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        not_base64 = backend.post("/api/enrich", json={**PERSON, "image": "%%%"})
        text = backend.post("/api/enrich", json={**PERSON, "image": "aGVsbG8gd29ybGQgdGhpcyBpcyB0ZXh0"})
        no_image = backend.post("/api/enrich", json={"detection_type": "person"})
        ok = backend.post("/api/enrich", json=PERSON)
    assert not_base64.status_code == 400 and not_base64.json()["error"]["code"] == "INVALID_REQUEST"
    assert text.status_code == 415 and text.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert no_image.status_code == 422
    assert ok.status_code == 200 and ok.json()["status"] == "FULL"
