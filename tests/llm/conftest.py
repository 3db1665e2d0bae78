"""The real llama-server (built once by `make llama-server`) on a tiny random GGUF
written by the project's own demo factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ai.llm.build import default_binary, works
from ai.llm.server import running
from ai.llm.settings import LlmSettings
from tests.support.model_servers import demo_models
from tests.support.server import free_port


@pytest.fixture(scope="session")
def llm_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_models(tmp_path_factory.mktemp("llm-models"), "nemotron")


@pytest.fixture(scope="session")
def llama_server(llm_models: Path) -> Iterator[str]:
    if not works(default_binary()):
        pytest.skip(f"no llama-server at {default_binary()}: `make llama-server` builds it (make test does)")
    settings = LlmSettings(
        AI_MODELS_PATH=str(llm_models), HOST="127.0.0.1", PORT=free_port(), CTX_SIZE=16384, LLM_PARALLEL=2
    )
    with running(settings) as url:
        yield url
