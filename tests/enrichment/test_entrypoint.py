"""``python -m ai.enrichment`` starts a real process in either role."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port


@pytest.mark.parametrize("role", ["light", "heavy"])
def test_module_entrypoint_serves_health_in_each_role(role: str, demo_models: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ENRICHMENT_ROLE": role,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "AI_MODELS_PATH": str(demo_models),
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ai.enrichment"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "service did not come up"
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert health["role"] == role
    expected = "ai-enrichment-light" if role == "light" else "ai-enrichment"
    assert health["service"] == expected
