"""Florence-2 demo weights, written once per session by the project's own factory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.model_servers import demo_models


@pytest.fixture(scope="session")
def florence_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_models(tmp_path_factory.mktemp("florence-models"), "florence")
