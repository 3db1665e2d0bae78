"""FAULT INJECTION (kill -9): a real light enrichment process is killed under concurrent
backend traffic and restarted on the same port.

During the outage no backend answer is a 5xx (the light models fail in a 200 result);
once the restarted service's /ready answers 200, the backend's /ready probe half-opens
the breaker and the first FULL result follows within seconds, not after the 30 s
cool-down. Bounded: about 20-40 s on two CPUs (two service start-ups dominate)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend.app import create_backend_app
from backend.settings import BackendSettings
from tests.support.photos import BUS_PERSON_BOX, bus_b64
from tests.support.server import LiveServer, free_port

# One light model, re-id (the others switched off, demographics, the heavy part, too),
# so that each start of the service loads little on a busy two-CPU machine.
PERSON = {
    "image": bus_b64(),
    "bbox": BUS_PERSON_BOX,
    "detection_type": "person",
    "detection_id": "p1",
    "options": {
        "include_demographics": False,
        "include_threat": False,
        "include_pose": False,
        "include_clothing": False,
    },
}
LIGHT_MODELS = "person_reid"
RECOVERY_LIMIT_S = 5.0
WORKERS = 3


@dataclass(frozen=True)
class Answer:
    sent: float
    received: float
    http_status: int
    status: str | None
    codes: frozenset[str]


def start_light(port: int, models: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ENRICHMENT_ROLE": "light",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "AI_MODELS_PATH": str(models),
        "ENRICHMENT_PRELOAD_MODELS": LIGHT_MODELS,  # /ready = these are loaded
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ai.enrichment"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def wait_ready(process: subprocess.Popen[str], url: str, timeout_s: float = 90.0) -> float:
    """Poll /ready every 50 ms; the moment it first answered 200."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the service exited: {process.stderr.read() if process.stderr else ''}")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return time.monotonic()
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the light service did not become ready"
        time.sleep(0.05)


def wait_for(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_kill_9_of_the_light_service_under_traffic_then_recovery_within_seconds(
    demo_models: Path, tmp_path: Path
) -> None:
    port = free_port()
    light_url = f"http://127.0.0.1:{port}"
    settings = BackendSettings(
        ENRICHMENT_LIGHT_URL=light_url,
        ENRICHMENT_URL=f"http://127.0.0.1:{free_port()}",  # never called: no heavy model planned
        ENRICHMENT_RETRY_ATTEMPTS=2,
        ENRICHMENT_RETRY_BASE_SECONDS=0.05,
        ENRICHMENT_RETRY_MAX_SECONDS=0.2,
        ENRICHMENT_CONNECT_TIMEOUT_SECONDS=1,
        ENRICHMENT_DEADLINE_SECONDS=15,
        ENRICHMENT_BREAKER_FAILURES=3,
        ENRICHMENT_BREAKER_COOLDOWN_SECONDS=30,  # the default: recovery must not wait for it
        ENRICHMENT_READY_PROBE_SECONDS=1,  # the default
        DATA_DIR=str(tmp_path),
    )
    answers: list[Answer] = []
    lock = threading.Lock()
    stop = threading.Event()

    def traffic(backend_url: str) -> None:
        with httpx.Client(base_url=backend_url, timeout=30) as http:
            while not stop.is_set():
                sent = time.monotonic()
                response = http.post("/api/enrich", json=PERSON)
                body = response.json() if response.headers.get("content-type") == "application/json" else {}
                codes = frozenset(e["code"] for e in body.get("errors", {}).values())
                with lock:
                    answers.append(Answer(sent, time.monotonic(), response.status_code, body.get("status"), codes))
                time.sleep(0.15)  # traffic, not a CPU hog that slows the restart

    def full_after(moment: float) -> list[Answer]:
        with lock:
            return [a for a in answers if a.status == "FULL" and a.sent >= moment]

    began = time.monotonic()
    first = start_light(port, demo_models)
    second: subprocess.Popen[str] | None = None
    backend = LiveServer(create_backend_app(settings))
    workers = [threading.Thread(target=traffic, args=(backend.url,), daemon=True) for _ in range(WORKERS)]
    try:
        first_ready_at = wait_ready(first, light_url)
        backend.start()
        for worker in workers:
            worker.start()
        wait_for(lambda: len(full_after(0.0)) >= WORKERS, 60, "FULL results before the kill")

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = time.monotonic()
        breaker = backend.server.config.app.state.backend.client.services["light"].breaker
        wait_for(lambda: breaker.state.value == "open", 15, "the breaker to open")
        time.sleep(1.5)  # outage under traffic: open circuit, probes refused

        restarted_at = time.monotonic()
        second = start_light(port, demo_models)
        ready_at = wait_ready(second, light_url)
        wait_for(lambda: full_after(killed_at), 30, "a FULL result after the restart")
        recovered_at = min(a.received for a in full_after(killed_at))
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    finally:
        stop.set()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        backend.stop()

    recovery_s = recovered_at - ready_at
    print(
        f"\nfirst start {first_ready_at - began:.1f}s, restart to /ready {ready_at - restarted_at:.1f}s, "
        f"{len(answers)} answers"
    )
    print(f"recovery: first FULL {recovery_s:.2f}s after /ready answered 200 (limit {RECOVERY_LIMIT_S}s)")
    assert not [a for a in answers if a.http_status >= 500], "a 5xx reached the caller"
    outage = [a for a in answers if killed_at <= a.sent and a.received < ready_at]
    assert outage, "traffic ran during the outage"
    assert all(a.http_status == 200 and a.status == "FAILED" for a in outage), {(a.status, a.codes) for a in outage}
    seen = set().union(*(a.codes for a in outage))
    assert "CIRCUIT_OPEN" in seen and seen <= {"CIRCUIT_OPEN", "SERVICE_UNREACHABLE", "TIMEOUT"}, seen
    assert recovery_s <= RECOVERY_LIMIT_S, f"first FULL {recovery_s:.1f}s after the service was ready"
