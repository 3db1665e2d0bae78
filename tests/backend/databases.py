"""The databases the backend's storage is tested on: a SQLite file, and a real
PostgreSQL server (127.0.0.1:5432, trust auth, on the project's machines) in a database
of its own that is dropped afterwards. Where no PostgreSQL answers, its tests skip and
say why."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    try:
        import psycopg  # noqa: F401
        from sqlalchemy import create_engine, text
    except ImportError as exc:
        pytest.skip(f"PostgreSQL tests need psycopg ({exc}); make venv installs it")
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"fleet_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server reachable at {POSTGRES} ({type(exc).__name__}); set TEST_POSTGRES_URL")
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'backend.db'}"
    else:
        with postgres_database() as url:
            yield url
