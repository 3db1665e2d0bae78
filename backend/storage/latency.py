"""Latency samples per model: SQLite by default, PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Boolean, Column, Float, Index, Integer, MetaData, String, Table, create_engine, delete, select
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

metadata = MetaData()
latency_samples = Table(
    "model_latency",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(100), nullable=False),
    Column("service", String(20), nullable=False),
    Column("endpoint", String(60), nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("recorded_at", Float, nullable=False, doc="Unix seconds, UTC"),
)
Index("ix_model_latency_model_time", latency_samples.c.model, latency_samples.c.recorded_at)


@dataclass(frozen=True)
class LatencySample:
    model: str
    service: str
    endpoint: str
    latency_ms: float
    ok: bool
    recorded_at: float


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, connect_args={"check_same_thread": False})
    return create_engine(url, pool_pre_ping=True)


class LatencyStore:
    """Blocking storage calls; the backend runs them on a worker thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def create(self) -> None:
        metadata.create_all(self.engine)

    def add(self, samples: list[LatencySample]) -> None:
        if not samples:
            return
        with self.engine.begin() as connection:
            connection.execute(latency_samples.insert(), [sample.__dict__ for sample in samples])

    def successes_since(self, model: str, since: float) -> list[tuple[float, float]]:
        """(recorded_at, latency_ms) of successful calls of ``model`` since ``since``."""
        query = (
            select(latency_samples.c.recorded_at, latency_samples.c.latency_ms)
            .where(latency_samples.c.model == model)
            .where(latency_samples.c.ok.is_(True))
            .where(latency_samples.c.recorded_at >= since)
            .order_by(latency_samples.c.recorded_at)
        )
        with self.engine.connect() as connection:
            return [(float(t), float(ms)) for t, ms in connection.execute(query)]

    def prune(self, before: float) -> int:
        with self.engine.begin() as connection:
            return connection.execute(delete(latency_samples).where(latency_samples.c.recorded_at < before)).rowcount

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(select(1))

    def close(self) -> None:
        self.engine.dispose()
