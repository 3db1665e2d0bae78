"""The shared runtime over real HTTP: concurrency, readiness, errors, limits, metrics."""

from __future__ import annotations

import concurrent.futures
import logging
import time

import httpx
import pytest

from ai.runtime.model_state import Priority
from tests.support.images import b64, png_bytes
from tests.support.server import LiveServer
from tests.support.torch_models import always, blob_spec, out_of_memory
from tests.support.toy_service import toy_app

IMAGE = {"image": b64(png_bytes())}


def test_health_and_loaded_model_answer_fast_while_another_model_loads_for_2s() -> None:
    app = toy_app([blob_spec("slow", 2, load_delay_s=2.0), blob_spec("fast", 2)], VRAM_BUDGET_MB=100)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/models/fast/load").status_code == 200
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = time.perf_counter()
            slow = pool.submit(client.post, "/infer/slow", json=IMAGE)
            time.sleep(0.2)  # the load of "slow" is under way
            health_s = _timed(lambda: client.get("/health"))
            infer_s = _timed(lambda: client.post("/infer/fast", json=IMAGE))
            status = client.get("/models/status").json()
            assert slow.result().status_code == 200
            slow_s = time.perf_counter() - started
    assert "slow" in status["pending_loads"]
    assert slow_s >= 2.0
    assert health_s < 0.5, f"/health took {health_s:.2f}s during a load"
    assert infer_s < 0.5, f"inference on a loaded model took {infer_s:.2f}s during a load"


def _timed(call) -> float:
    started = time.perf_counter()
    response = call()
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


def test_preload_variable_is_read_and_ready_turns_200_only_after_preload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRELOAD_MODELS", "slow")
    monkeypatch.setenv("VRAM_BUDGET_MB", "100")
    monkeypatch.setenv("SERVICE_NAME", "toy")
    app = toy_app([blob_spec("slow", 2, load_delay_s=1.0), blob_spec("other", 2)])
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        first = client.get("/ready")
        assert first.status_code == 503
        assert first.json()["preload"]["requested"] == ["slow"]
        deadline = time.monotonic() + 20
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "never became ready"
            time.sleep(0.05)
        models = {m["name"]: m for m in client.get("/models/status").json()["registered_models"]}
    assert models["slow"]["state"] == "loaded"
    assert models["other"]["state"] == "unloaded"


def test_oom_on_load_is_503_with_retry_after_evicts_and_service_keeps_serving() -> None:
    app = toy_app(
        [
            blob_spec("cached", 2, Priority.LOW),
            blob_spec("hungry", 2, Priority.HIGH, failure=always(out_of_memory)),
        ],
        VRAM_BUDGET_MB=100,
    )
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/infer/cached", json=IMAGE).status_code == 200
        response = client.post("/infer/hungry", json=IMAGE)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "RESOURCE_EXHAUSTED"
        assert int(response.headers["Retry-After"]) >= 1
        models = {m["name"]: m for m in client.get("/models/status").json()["registered_models"]}
        assert models["cached"]["state"] == "unloaded", "the OOM did not evict"
        assert client.post("/infer/cached", json=IMAGE).status_code == 200
        assert client.get("/health").status_code == 200


def test_failing_loader_shows_error_in_status_and_answers_503_model_load_failed() -> None:
    app = toy_app(
        [blob_spec("bad", 1, failure=always(lambda: OSError("weights unreadable")))],
        VRAM_BUDGET_MB=100,
        MODEL_LOAD_RETRY_SECONDS=60,
    )
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post("/infer/bad", json=IMAGE)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "MODEL_LOAD_FAILED"
        assert "weights unreadable" in response.json()["error"]["message"]
        assert "Retry-After" in response.headers
        model = client.get("/models/status").json()["registered_models"][0]
        health = client.get("/health").json()
    assert model["state"] == "error"
    assert "weights unreadable" in model["error"]
    assert health["status"] == "unhealthy"
    assert any("weights unreadable" in p for p in health["problems"])


def test_request_id_is_echoed_or_generated_and_access_log_has_one_line(caplog: pytest.LogCaptureFixture) -> None:
    app = toy_app([blob_spec("m", 1)], VRAM_BUDGET_MB=100)
    caplog.set_level(logging.INFO, logger="ai.access")
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        echoed = client.post("/infer/m", json=IMAGE, headers={"X-Request-ID": "cam-7-frame-42"})
        generated = client.post("/infer/m", json={"image": "%%%"})
    assert echoed.headers["X-Request-ID"] == "cam-7-frame-42"
    request_id = generated.headers["X-Request-ID"]
    assert len(request_id) >= 16
    assert generated.json()["error"]["request_id"] == request_id
    lines = [r.getMessage() for r in caplog.records if r.name == "ai.access"]
    mine = [line for line in lines if "cam-7-frame-42" in line]
    assert len(mine) == 1
    fields = [f.strip() for f in mine[0].split("|")]
    assert fields[1:] == ["cam-7-frame-42", "127.0.0.1", "POST /infer/m", "200", fields[5], "m"]
    assert float(fields[5]) > 0


def test_unhandled_exception_is_500_internal_without_details_and_server_stays_up() -> None:
    app = toy_app([blob_spec("m", 1)], VRAM_BUDGET_MB=100)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.get("/boom")
        assert response.status_code == 500
        error = response.json()["error"]
        assert error["code"] == "INTERNAL"
        assert "secret internal detail" not in response.text
        assert "Traceback" not in response.text
        assert error["request_id"] == response.headers["X-Request-ID"]
        assert client.get("/health").status_code == 200


def test_body_limit_refuses_large_and_chunked_bodies_with_413() -> None:
    app = toy_app([blob_spec("m", 1)], VRAM_BUDGET_MB=100, MAX_REQUEST_BYTES=4096)
    big = {"image": "A" * 10_000}
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        declared = client.post("/infer/m", json=big)

        def chunks():
            yield b'{"image": "'
            for _ in range(20):
                yield b"A" * 1000
            yield b'"}'

        streamed = client.post("/infer/m", content=chunks(), headers={"content-type": "application/json"})
        declared_preload = client.post(
            "/models/preload", content=b"[" + b" " * 8000 + b"]", headers={"content-type": "application/json"}
        )
        assert client.get("/health").status_code == 200
    for response in (declared, streamed, declared_preload):
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_queue_bound_refuses_excess_work_with_503_and_retry_after() -> None:
    app = toy_app([blob_spec("m", 1)], VRAM_BUDGET_MB=100, INFERENCE_WORKERS=1, MAX_QUEUED_REQUESTS=1)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        client.post("/models/m/load")
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(client.post, "/infer/m", params={"sleep": 0.5}, json=IMAGE) for _ in range(6)]
            responses = [f.result() for f in futures]
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) >= 2
    refused = [r for r in responses if r.status_code == 503]
    assert refused, codes
    assert all(r.json()["error"]["code"] == "RESOURCE_EXHAUSTED" and "Retry-After" in r.headers for r in refused)


def test_metrics_expose_request_and_model_manager_series() -> None:
    app = toy_app([blob_spec("m", 1)], VRAM_BUDGET_MB=100)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        client.post("/infer/m", json=IMAGE)
        text = client.get("/metrics").text
    assert 'toy_inference_requests_total{endpoint="/infer/{name}",status="200"} 1.0' in text
    assert 'toy_model_loaded{model="m"} 1.0' in text
    assert 'toy_model_loads_total{model="m"} 1.0' in text
    assert "toy_model_load_duration_seconds_bucket" in text
    assert 'toy_model_inference_seconds_count{model="m"} 1.0' in text
    assert "toy_gpu_memory_used_gb 0.0" in text
    assert "toy_model_memory_used_mb" in text


def test_framework_errors_use_the_envelope_and_docs_are_served() -> None:
    app = toy_app([blob_spec("m", 1)], VRAM_BUDGET_MB=100)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        missing = client.get("/no-such-endpoint")
        wrong_method = client.get("/infer/m")
        bad_preload = client.post("/models/preload", json={"models": "m"})
        unknown_model = client.post("/models/ghost/load")
        docs = client.get("/docs")
        schema = client.get("/openapi.json").json()
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert bad_preload.status_code == 422 and bad_preload.json()["error"]["code"] == "INVALID_REQUEST"
    assert unknown_model.status_code == 404 and unknown_model.json()["error"]["code"] == "MODEL_NOT_FOUND"
    assert unknown_model.json()["error"]["details"]["available_models"] == ["m"]
    assert docs.status_code == 200
    assert "ImageRequest" in schema["components"]["schemas"]
    assert "multipart/form-data" in schema["paths"]["/infer/{name}"]["post"]["requestBody"]["content"]


def test_load_and_unload_endpoints_change_state_and_return_memory() -> None:
    app = toy_app([blob_spec("m", 48)], VRAM_BUDGET_MB=200)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        loaded = client.post("/models/m/load").json()
        unloaded = client.post("/models/m/unload").json()
        preload = client.post("/models/preload", json={"models": ["m"]}).json()
    assert loaded["state"] == "loaded" and loaded["measured_mb"] > 24
    assert unloaded["state"] == "unloaded" and unloaded["freed_mb"] > 24
    assert preload["loaded"] == ["m"] and preload["done"] is True
