"""Latency samples per model: SQLite by default, PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from backend.storage.database import make_engine, upgrade
from backend.storage.schema import latency_samples

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LatencySample:
    model: str
    service: str
    endpoint: str
    latency_ms: float
    ok: bool
    recorded_at: float


class LatencyStore:
    """Blocking storage calls; the backend runs them on a worker thread."""

    def __init__(self, url: str | Engine) -> None:
        self.engine = make_engine(url) if isinstance(url, str) else url
        self.url = str(self.engine.url)

    def create(self) -> None:
        """The schema at the newest migration (every table of the backend, not only this one)."""
        upgrade(self.engine)

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
