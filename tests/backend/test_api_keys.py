"""The backend presents each enrichment role its own API key (ENRICHMENT_LIGHT_API_KEY,
ENRICHMENT_API_KEY) as ``Authorization: Bearer``: on /enrich, on the /ready probe and on
/models/status. A refusal is that service's models' error with its code, never retried."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backend.enrichment_client.client import EnrichmentClient
from backend.enrichment_client.errors import EnrichmentCallError
from backend.enrichment_client.policy import BreakerState
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from tests.backend.conftest import backend_client
from tests.support.photos import BUS_PERSON_BOX, bus_b64
from tests.support.server import LiveServer
from tests.support.stub_service import Script, error_body, frame_answer, stub_app

PERSON = {"image": bus_b64(), "bbox": BUS_PERSON_BOX, "detection_type": "person", "detection_id": "p1"}
LIGHT_MODELS = ["threat_detector", "pose_estimator", "person_reid"]
HEAVY_MODELS = ["age_classifier", "gender_classifier", "clothing_classifier"]
LIGHT_KEY = "light-secret-4f1c"
HEAVY_KEY = "heavy-secret-9b2e"


@contextmanager
def keyed_fleet() -> Iterator[tuple[LiveServer, Script, LiveServer, Script]]:
    light_script = Script(lambda _n: (200, frame_answer({"p1": "person"}, LIGHT_MODELS), {}))
    heavy_script = Script(lambda _n: (200, frame_answer({"p1": "person"}, HEAVY_MODELS), {}))
    with (
        LiveServer(stub_app(light_script, api_key=LIGHT_KEY)) as light,
        LiveServer(stub_app(heavy_script, api_key=HEAVY_KEY)) as heavy,
    ):
        yield light, light_script, heavy, heavy_script


def test_the_right_keys_get_full_results_and_are_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keys = {"ENRICHMENT_LIGHT_API_KEY": LIGHT_KEY, "ENRICHMENT_API_KEY": HEAVY_KEY}
    with (
        keyed_fleet() as (light, light_script, heavy, heavy_script),
        backend_client(light.url, heavy.url, tmp_path, **keys) as backend,
    ):
        response = backend.post("/api/enrich", json=PERSON)
        health = backend.get("/health").text
        metrics = backend.get("/metrics").text
        settings = backend.app.state.backend.settings
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "FULL", result["errors"]
    assert light_script.auth == [f"Bearer {LIGHT_KEY}"] and heavy_script.auth == [f"Bearer {HEAVY_KEY}"]
    for text in (caplog.text, health, metrics, response.text, repr(settings), str(settings.model_dump())):
        assert LIGHT_KEY not in text and HEAVY_KEY not in text
    assert settings.enrichment_api_key.get_secret_value() == HEAVY_KEY


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "missing API key"),
        ({"ENRICHMENT_LIGHT_API_KEY": "wrong", "ENRICHMENT_API_KEY": "wrong"}, "invalid API key"),
        ({"ENRICHMENT_LIGHT_API_KEY": HEAVY_KEY, "ENRICHMENT_API_KEY": LIGHT_KEY}, "invalid API key"),
    ],
    ids=["no key", "wrong key", "keys swapped"],
)
def test_no_or_wrong_key_names_unauthorized_and_is_not_retried(
    keys: dict[str, str], message: str, tmp_path: Path
) -> None:
    with (
        keyed_fleet() as (light, light_script, heavy, heavy_script),
        backend_client(light.url, heavy.url, tmp_path, ENRICHMENT_RETRY_ATTEMPTS=5, **keys) as backend,
    ):
        response = backend.post("/api/enrich", json=PERSON)
        breakers = {n: s.breaker for n, s in backend.app.state.backend.client.services.items()}
    assert response.status_code == 200, "a refused service is its models' error, not the caller's"
    result = response.json()
    assert result["status"] == "FAILED"
    assert set(result["errors"]) == set(LIGHT_MODELS + HEAVY_MODELS)
    for error in result["errors"].values():
        assert error["code"] == "UNAUTHORIZED" and error["message"] == message
    assert "UNAUTHORIZED" in result["services"]["light"]["error"]
    assert len(light_script.auth) == 1 and len(heavy_script.auth) == 1, "never retried"
    assert light_script.calls == [] and heavy_script.calls == []
    assert all(b.state is BreakerState.CLOSED and b.failures == 0 for b in breakers.values()), "it answered"


def test_a_403_is_forbidden_on_that_services_models_only(tmp_path: Path) -> None:
    light_script = Script(lambda _n: (403, error_body("FORBIDDEN", "key lacks scope enrich"), {}))
    heavy_script = Script(lambda _n: (200, frame_answer({"p1": "person"}, HEAVY_MODELS), {}))
    with (
        LiveServer(stub_app(light_script)) as light,
        LiveServer(stub_app(heavy_script)) as heavy,
        backend_client(light.url, heavy.url, tmp_path, ENRICHMENT_RETRY_ATTEMPTS=5) as backend,
    ):
        response = backend.post("/api/enrich", json=PERSON)
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "PARTIAL"
    assert {result["errors"][m]["code"] for m in LIGHT_MODELS} == {"FORBIDDEN"}
    assert light_script.calls == ["/enrich"], "never retried"


def test_model_zoo_sends_the_keys_and_shows_a_refusing_service_unreachable_with_the_reason(tmp_path: Path) -> None:
    with keyed_fleet() as (light, light_script, heavy, heavy_script):
        with backend_client(light.url, heavy.url, tmp_path, ENRICHMENT_LIGHT_API_KEY=LIGHT_KEY) as backend:
            response = backend.get("/api/system/models")
            compact = backend.get("/api/system/model-zoo/status")
        assert response.status_code == 200 and compact.status_code == 200
        models = {m["name"]: m for m in response.json()["models"]}
        vehicle = models["vehicle_classifier"]  # heavy: no key sent
        assert vehicle["status"] == "unreachable"
        assert "HTTP 401 UNAUTHORIZED: missing API key" in vehicle["error"] and heavy.url in vehicle["error"]
        assert {i["status"] for i in compact.json()["models"] if i["name"] == "vehicle_classifier"} == {"unreachable"}
        pose = models["pose_estimator"]  # light: the key was accepted; this stub has no /models/status
        assert pose["status"] == "unreachable" and "UNAUTHORIZED" not in pose["error"]
        assert light_script.auth and set(light_script.auth) == {f"Bearer {LIGHT_KEY}"}
        assert heavy_script.auth and set(heavy_script.auth) == {None}


def test_the_ready_probe_carries_the_key() -> None:
    """The breaker opens on a 500; the probe's /ready must pass the stub's key check to
    half-open it (without the key it would get 401 and the breaker would stay open)."""
    script = Script(lambda n: (500, error_body("INFERENCE_FAILED"), {}))
    with LiveServer(stub_app(script, api_key=LIGHT_KEY)) as light:
        settings = BackendSettings(
            ENRICHMENT_LIGHT_URL=light.url,
            ENRICHMENT_URL=light.url,
            ENRICHMENT_LIGHT_API_KEY=LIGHT_KEY,
            ENRICHMENT_BREAKER_FAILURES=1,
            ENRICHMENT_BREAKER_COOLDOWN_SECONDS=60,
            ENRICHMENT_READY_PROBE_SECONDS=0.05,
        )

        async def scenario() -> None:
            client = EnrichmentClient(settings, BackendMetrics())
            breaker = client.services["light"].breaker
            try:
                with pytest.raises(EnrichmentCallError):
                    await client.person_reid("aGVsbG8=")
                assert breaker.state is BreakerState.OPEN
                started = time.monotonic()
                while breaker.state is BreakerState.OPEN:
                    assert time.monotonic() - started < 2.0, "the keyed /ready probe never half-opened it"
                    await asyncio.sleep(0.02)
            finally:
                await client.close()

        asyncio.run(scenario())
    assert script.readies >= 1
    assert set(script.auth) == {f"Bearer {LIGHT_KEY}"}


def test_an_empty_key_sends_no_header() -> None:
    settings = BackendSettings(ENRICHMENT_LIGHT_API_KEY="", ENRICHMENT_API_KEY="k")
    client = EnrichmentClient(settings, BackendMetrics())
    try:
        assert client.services["light"].auth_headers() == {}
        assert client.services["heavy"].auth_headers() == {"Authorization": "Bearer k"}
    finally:
        asyncio.run(client.close())
