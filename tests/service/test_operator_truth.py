"""What /health and the error codes tell an operator about configuration that can never work."""

from __future__ import annotations

import dataclasses

import httpx

from ai.runtime.model_state import Priority
from tests.support.images import b64, png_bytes
from tests.support.server import LiveServer
from tests.support.torch_models import blob_spec
from tests.support.toy_service import toy_app

IMAGE = {"image": b64(png_bytes(32, 32))}


def test_health_is_degraded_when_a_model_can_never_fit_the_budget() -> None:
    too_big = blob_spec("threat", 1, Priority.CRITICAL, estimate_mb=400)
    app = toy_app([too_big, blob_spec("small", 1)], VRAM_BUDGET_MB=300)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as http:
        health = http.get("/health").json()
        assert health["status"] == "degraded"
        assert any("threat" in p and "can never load" in p and "300 MB" in p for p in health["problems"])


def test_health_is_degraded_when_a_critical_model_cannot_load() -> None:
    broken = blob_spec("threat", 1, Priority.CRITICAL, failure=lambda _n: RuntimeError("bad weights"))
    app = toy_app([broken, blob_spec("small", 1)], VRAM_BUDGET_MB=300)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/health").json()["status"] == "healthy", "nothing known to be wrong yet"
        assert http.post("/infer/threat", json=IMAGE).status_code == 503
        health = http.get("/health").json()
        assert health["status"] == "degraded"
        assert any("CRITICAL model cannot load" in p for p in health["problems"])


def test_a_disabled_model_is_a_409_not_a_try_later() -> None:
    disabled = dataclasses.replace(blob_spec("off", 1), disabled_reason="turned off by ENRICHMENT_OFF_ENABLED=false")
    app = toy_app([disabled], VRAM_BUDGET_MB=100)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as http:
        for response in (http.post("/models/off/load"), http.post("/infer/off", json=IMAGE)):
            assert response.status_code == 409
            assert response.json()["error"]["code"] == "MODEL_DISABLED"
            assert "Retry-After" not in response.headers
            assert "ENRICHMENT_OFF_ENABLED" in response.json()["error"]["message"]
