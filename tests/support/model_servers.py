"""Demo weights written by the project's own factory and a model service on them over
loopback HTTP: what every service's HTTP tests start from."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from ai.models.demo import write_demo_weights
from ai.runtime.catalog import load_catalog
from ai.runtime.model_service import ModelService, create_service_app
from tests.support.server import LiveServer


def demo_models(root: Path, *names: str) -> Path:
    """``root`` as a model store holding demo weights of ``names``."""
    catalog = load_catalog()
    for name in names:
        write_demo_weights(catalog[name], root)
    return root


def wait_ready(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/ready").status_code == 200:
            return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not become ready")


@contextlib.contextmanager
def model_server(service_type: type[ModelService], models: Path, **settings: Any) -> Iterator[str]:
    """``service_type`` on the demo weights in ``models``, once its preloaded models answer."""
    fields = {"AI_MODELS_PATH": str(models), "HOST": "127.0.0.1", **settings}
    app = create_service_app(service_type(service_type.settings_type(**fields)))
    with LiveServer(app) as server:
        wait_ready(server.url)
        yield server.url
