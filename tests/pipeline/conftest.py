"""The whole fleet on loopback for the frame pipeline: the detector, both enrichment
roles, Florence-2 and CLIP on demo weights, the real llama-server on the demo GGUF, and
the backend over real HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai.clip.service import ClipService
from ai.florence.service import FlorenceService
from backend.app import create_backend_app
from backend.settings import BackendSettings
from tests.backend.conftest import ABSENT
from tests.detector.conftest import detector_models, detector_server  # noqa: F401  (session fixture)
from tests.enrichment.conftest import demo_models, enrichment_server  # noqa: F401  (fixture reuse)
from tests.llm.conftest import llama_server, llm_models  # noqa: F401  (session fixtures)
from tests.support.model_servers import demo_models as write_demo
from tests.support.model_servers import model_server
from tests.support.server import LiveServer

# Calls to a service that is down fail at once, without retries, so a test sees the
# degraded event quickly; everything else is the production default.
FAST_FAILURE = {"ENRICHMENT_RETRY_ATTEMPTS": "1", "ENRICHMENT_READY_PROBE_SECONDS": "0"}


@pytest.fixture(scope="module")
def fleet(
    demo_models: Path,  # noqa: F811
    detector_models: Path,  # noqa: F811
    llama_server: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    models = write_demo(tmp_path_factory.mktemp("vision-models"), "florence", "clip")
    with (
        detector_server(detector_models, tmp_path_factory.mktemp("detector-data")) as detector,
        enrichment_server("light", demo_models) as light,
        enrichment_server("heavy", demo_models) as heavy,
        model_server(FlorenceService, models) as florence,
        model_server(ClipService, models) as clip,
    ):
        yield {
            "DETECTOR_URL": detector,
            "ENRICHMENT_LIGHT_URL": light.url,
            "ENRICHMENT_URL": heavy.url,
            "FLORENCE_URL": florence,
            "CLIP_URL": clip,
            "LLM_URL": llama_server,
        }


@contextlib.contextmanager
def backend(fleet: dict[str, str], data_dir: Path, down: str | None = None, **env: Any) -> Iterator[str]:
    """The backend on ``fleet``, with the service whose URL variable is ``down`` unreachable."""
    urls = {**fleet, **({down: ABSENT} if down else {})}
    settings = BackendSettings(DATA_DIR=str(data_dir), **{**urls, **FAST_FAILURE, **env})
    with LiveServer(create_backend_app(settings)) as server:
        yield server.url
