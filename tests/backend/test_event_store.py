"""Events, entities and migrations on SQLite and on a real PostgreSQL server: the schema
migrates up and down, an event round-trips whole, paging with a cursor sees every event
once, the filters hold, entities come back with their sightings, and retention deletes
old events and the entities left without a sighting."""

from __future__ import annotations

import sqlalchemy as sa

from ai.contracts.events import Event, StageResult
from backend.pipeline.entities import Crop, EntityIndex, normalised
from backend.storage.database import current_revision, downgrade, head_revision, make_engine, upgrade
from backend.storage.events import EventStore
from backend.storage.latency import LatencySample, LatencyStore
from tests.backend.databases import database_url  # noqa: F401  (fixture)

T0 = 1_800_000_000.0
TABLES = {"model_latency", "events", "entities", "sightings"}


def event(number: int, camera: str = "front", score: int | None = 10, at: float | None = None) -> Event:
    return Event(
        id=f"evt_{number:04d}",
        camera_id=camera,
        timestamp=at if at is not None else T0 + number,
        created_at=T0 + number,
        status="complete" if score is not None else "degraded",
        missing=[] if score is not None else ["risk"],
        risk_score=score,
        risk_level=None if score is None else ("low" if score < 30 else "high"),
        image_width=640,
        image_height=480,
        stages={"detector": StageResult(status="ok", latency_ms=12.5)},
        total_ms=20.0,
        stored=True,
    )


def store_for(url: str) -> EventStore:
    engine = make_engine(url)
    upgrade(engine)
    return EventStore(engine)


def test_migrations_go_up_and_down_and_adopt_an_old_latency_table(database_url: str) -> None:  # noqa: F811
    engine = make_engine(database_url)
    # A database from before migrations: the latency table made directly, with a sample.
    from backend.storage.schema import latency_samples

    latency_samples.create(engine)
    LatencyStore(engine).add([LatencySample("pose_estimator", "light", "/enrich", 5.0, True, T0)])
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    assert LatencyStore(engine).successes_since("pose_estimator", 0) == [(T0, 5.0)], "kept through the upgrade"
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("events")}
    assert {"ix_events_time", "ix_events_camera_time", "ix_events_risk_time"} <= indexes
    downgrade(engine, "base")
    assert not TABLES & set(sa.inspect(engine).get_table_names())
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_an_event_round_trips_whole(database_url: str) -> None:  # noqa: F811
    store = store_for(database_url)
    original = event(1)
    store.save(original, [])
    assert store.get("evt_0001") == original
    assert store.get("evt_missing") is None
    store.engine.dispose()


def test_cursor_paging_sees_every_event_once_newest_first(database_url: str) -> None:  # noqa: F811
    store = store_for(database_url)
    for n in range(25):
        store.save(event(n, at=T0 + n // 2), [])  # pairs share a timestamp: the id breaks the tie
    seen, cursor = [], None
    while True:
        page = store.page(limit=7, cursor=cursor)
        seen += [e.id for e in page.events]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 25 and len(set(seen)) == 25
    assert seen == sorted(seen, key=lambda i: (T0 + int(i[4:]) // 2, i), reverse=True)
    store.engine.dispose()


def test_filters_by_camera_time_and_lowest_risk(database_url: str) -> None:  # noqa: F811
    store = store_for(database_url)
    store.save(event(1, "front", 10), [])
    store.save(event(2, "garage", 80), [])
    store.save(event(3, "garage", None), [])
    store.save(event(4, "front", 95), [])
    assert [e.id for e in store.page(camera_id="garage").events] == ["evt_0003", "evt_0002"]
    assert [e.id for e in store.page(min_risk=50).events] == ["evt_0004", "evt_0002"]
    assert [e.id for e in store.page(since=T0 + 2, until=T0 + 4).events] == ["evt_0003", "evt_0002"]
    assert [e.id for e in store.page(camera_id="front", min_risk=50).events] == ["evt_0004"]
    store.engine.dispose()


def test_entities_come_back_with_their_sightings_and_reload_for_matching(database_url: str) -> None:  # noqa: F811
    store = store_for(database_url)
    entities = EntityIndex(0.9, 0.95, 3600)
    crop = Crop("det_0", "person", normalised([1.0, 0.0, 0.0]))
    first = entities.match([crop], "front", T0 + 1)
    store.save(event(1, "front"), first)
    second = entities.match([crop], "garage", T0 + 2)
    store.save(event(2, "garage"), second)
    record = store.entity(first[0].entity.id)
    assert record is not None and record.sighting_count == 2 and record.cameras == ["front", "garage"]
    assert [s.event_id for s in record.sightings] == ["evt_0002", "evt_0001"]
    assert store.entity("ent_missing") is None
    [reloaded] = store.recent_entities(T0)
    assert reloaded.id == first[0].entity.id and reloaded.cameras == {"front", "garage"}
    assert float(reloaded.vector @ crop.vector) > 0.999
    assert store.recent_entities(T0 + 10) == [], "entities last seen before the window are not reloaded"
    store.engine.dispose()


def test_retention_deletes_old_events_their_sightings_and_orphaned_entities(database_url: str) -> None:  # noqa: F811
    store = store_for(database_url)
    entities = EntityIndex(0.9, 0.95, 10**9)
    old_only = entities.match([Crop("det_0", "person", normalised([1.0, 0.0]))], "front", T0)
    store.save(event(1, at=T0), old_only)
    kept = entities.match([Crop("det_0", "vehicle", normalised([0.0, 1.0]))], "front", T0 + 100)
    store.save(event(2, at=T0 + 100), kept)
    store.save(event(3, at=T0 - 50), entities.match([Crop("det_0", "vehicle", normalised([0.0, 1.0]))], "front", T0))
    assert store.prune(before=T0 + 50) == 2
    assert [e.id for e in store.page().events] == ["evt_0002"]
    assert store.entity(old_only[0].entity.id) is None, "no sighting left"
    survivor = store.entity(kept[0].entity.id)
    assert survivor is not None and [s.event_id for s in survivor.sightings] == ["evt_0002"]
    store.engine.dispose()


def test_a_stale_entity_state_saved_late_never_overwrites_a_newer_one(database_url: str) -> None:  # noqa: F811
    """Two frames' saves can commit out of order; the entity keeps its latest state."""
    from dataclasses import replace

    store = store_for(database_url)
    entities = EntityIndex(0.9, 0.95, 3600)
    crop = Crop("det_0", "person", normalised([1.0, 0.0]))
    [first] = entities.match([crop], "front", T0)
    store.save(event(1), [first])
    [second] = entities.match([crop], "front", T0 + 1)
    stale = replace(second, entity=replace(second.entity, sighting_count=2, last_seen=T0 + 1))
    [third] = entities.match([crop], "front", T0 + 2)
    store.save(event(3), [third])  # the later frame commits first
    store.save(event(2), [stale])
    record = store.entity(first.entity.id)
    assert record is not None and record.sighting_count == 3 and record.last_seen == T0 + 2
    assert len(record.sightings) == 3
    store.engine.dispose()
