"""Which loaded models to evict so that a load fits: a pure function of the records."""

from __future__ import annotations

from collections.abc import Iterable

from ai.runtime.model_state import ModelRecord, ModelState, Priority


def evictable(record: ModelRecord, requester: Priority, now: float) -> bool:
    """A model may be evicted for a requester of priority ``requester``.

    Never while leased, nor while requests wait to lease it after its load (else a
    just-loaded model could be evicted before its requesters run). A model more
    important than the requester is protected unless it has been idle longer than
    its keep-alive (pinned models never expire).
    """
    if record.state is not ModelState.LOADED or record.unloading or record.leases > 0 or record.waiters > 0:
        return False
    if record.priority >= requester:
        return True
    keep_alive = record.spec.keep_alive_s
    return keep_alive >= 0 and record.idle_seconds(now) > keep_alive


def eviction_order(records: Iterable[ModelRecord], requester: Priority, now: float) -> list[ModelRecord]:
    """Evictable models, least important first, then least recently used."""
    candidates = [r for r in records if evictable(r, requester, now)]
    return sorted(candidates, key=lambda r: (-int(r.priority), r.last_used or 0.0))


def choose_victims(
    records: Iterable[ModelRecord], need_mb: float, free_mb: float, requester: Priority, now: float
) -> list[ModelRecord] | None:
    """The shortest prefix of the eviction order that frees ``need_mb``.

    Returns ``[]`` when it already fits and ``None`` when evicting every candidate
    would still not be enough, in which case nothing should be evicted.
    """
    if need_mb <= free_mb:
        return []
    victims: list[ModelRecord] = []
    for record in eviction_order(records, requester, now):
        victims.append(record)
        free_mb += record.accounted_mb
        if need_mb <= free_mb:
            return victims
    return None
