"""Demo weights for the detector's two versions, written once per session by the
project's own factory, and a helper to run the detector over real HTTP."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai.detector.service import DetectorService
from ai.detector.settings import DetectorSettings
from ai.models.demo import write_demo_weights
from ai.runtime.catalog import load_catalog
from ai.runtime.model_service import create_service_app
from tests.support.model_servers import wait_ready
from tests.support.server import LiveServer


@pytest.fixture(scope="session")
def detector_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("detector-models")
    catalog = load_catalog()
    write_demo_weights(catalog["yolo26"], root)
    write_demo_weights(catalog["yolo26_v2"], root)
    return root


def v2_weights(models: Path) -> str:
    return str(models / "model-zoo" / "yolo26_v2")


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Process variables the service reads at start-up (the per-model path variables)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def detector_server(models: Path, tmp: Path, env: dict[str, str] | None = None, **settings: Any) -> Iterator[str]:
    """A detector on demo weights over loopback HTTP, once its preloaded models answer."""
    fields = {"AI_MODELS_PATH": str(models), "DETECTOR_DATA_DIR": str(tmp), "HOST": "127.0.0.1", **settings}
    with environment(env or {}):
        app = create_service_app(DetectorService(DetectorSettings(**fields)))
    with LiveServer(app) as server:
        wait_ready(server.url)
        yield server.url


@pytest.fixture(scope="module")
def detector_url(detector_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with detector_server(detector_models, tmp_path_factory.mktemp("detector-data")) as url:
        yield url
