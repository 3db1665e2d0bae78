"""Backend tests: the real backend app against real enrichment services on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.app import create_backend_app
from backend.settings import BackendSettings
from tests.enrichment.conftest import demo_models, enrichment_server  # noqa: F401  (fixture reuse)
from tests.llm.conftest import llama_server, llm_models  # noqa: F401  (session fixtures)
from tests.support.server import LiveServer

# The fleet's other services, where a test does not start them: a closed loopback port
# answers at once (the default hostnames would cost a DNS lookup each).
ABSENT = "http://127.0.0.1:9"
OTHER_SERVICES = {"DETECTOR_URL": ABSENT, "FLORENCE_URL": ABSENT, "CLIP_URL": ABSENT}


@contextmanager
def backend_client(light: str, heavy: str, data_dir: Path, **env: Any) -> Iterator[TestClient]:
    fields = {**OTHER_SERVICES, **env}
    settings = BackendSettings(ENRICHMENT_LIGHT_URL=light, ENRICHMENT_URL=heavy, DATA_DIR=str(data_dir), **fields)
    with TestClient(create_backend_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def fleet(demo_models: Path) -> Iterator[tuple[LiveServer, LiveServer]]:  # noqa: F811
    with enrichment_server("light", demo_models) as light, enrichment_server("heavy", demo_models) as heavy:
        yield light, heavy
