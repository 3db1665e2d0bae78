"""CLIP demo weights (a tiny random CLIP with the real CLIP tokenizer), once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.model_servers import demo_models


@pytest.fixture(scope="session")
def clip_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_models(tmp_path_factory.mktemp("clip-models"), "clip")
