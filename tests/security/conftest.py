"""Security tests: a toy service on loopback with keys made by the real CLI."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai.runtime.security.__main__ import main as keys_cli
from tests.support.server import LiveServer
from tests.support.torch_models import blob_spec
from tests.support.toy_service import toy_app


def create_key(path: Path, name: str, scopes: str) -> str:
    """A key made as an operator makes one: the CLI prints it once, stores its hash."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert keys_cli(["--file", str(path), "create", name, "--scopes", scopes]) == 0
    return out.getvalue().strip()


@dataclasses.dataclass
class Keys:
    file: Path
    reader: str
    inferer: str
    admin: str


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    file = tmp_path / "keys.json"
    reader = create_key(file, "dashboard", "read")
    return Keys(file, reader, create_key(file, "backend", "read,infer"), create_key(file, "ops", "admin"))


@contextlib.contextmanager
def toy_server(specs: list[Any] | None = None, **env: Any) -> Iterator[httpx.Client]:
    app = toy_app(specs or [blob_spec("m", 1)], VRAM_BUDGET_MB=100, **env)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
