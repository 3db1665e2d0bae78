"""Events, entities and sightings in the backend's database (SQLite by default,
PostgreSQL through ``DATABASE_URL``). Blocking calls; the backend runs them on a worker
thread. An event is stored whole as its JSON document beside the columns it is queried
by; an event and the entity rows and sightings it adds are written in one transaction."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence

import numpy as np
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from ai.contracts.events import EntityRecord, Event, EventPage, EventSummary, Sighting
from ai.runtime.errors import invalid_request
from backend.pipeline.entities import Entity, Match, normalised
from backend.storage.schema import entities, events, sightings

MAX_PAGE = 200


def encode_cursor(timestamp: float, event_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([timestamp, event_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        timestamp, event_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(timestamp), str(event_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise invalid_request("cursor is not one this API gave out; start again without it") from exc


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, event: Event, matches: Sequence[Match]) -> None:
        """The event, its entities' new state and one sighting per matched detection."""
        with self.engine.begin() as connection:
            connection.execute(
                events.insert().values(
                    id=event.id,
                    camera_id=event.camera_id,
                    timestamp=event.timestamp,
                    created_at=event.created_at,
                    status=event.status,
                    risk_score=event.risk_score,
                    risk_level=event.risk_level,
                    detection_count=len(event.detections),
                    document=event.model_dump_json(by_alias=True),
                )
            )
            for match in matches:
                _upsert_entity(connection, match.entity)
            if matches:
                connection.execute(
                    sightings.insert(),
                    [
                        {
                            "entity_id": m.entity.id,
                            "event_id": event.id,
                            "detection_id": m.detection_id,
                            "camera_id": event.camera_id,
                            "timestamp": event.timestamp,
                            "similarity": m.similarity,
                        }
                        for m in matches
                    ],
                )

    def get(self, event_id: str) -> Event | None:
        with self.engine.connect() as connection:
            document = connection.execute(select(events.c.document).where(events.c.id == event_id)).scalar()
        return Event.model_validate_json(document) if document is not None else None

    def page(
        self,
        camera_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        min_risk: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> EventPage:
        """Newest first; ``cursor`` continues after the last event of the previous page."""
        query = select(
            events.c.id,
            events.c.camera_id,
            events.c.timestamp,
            events.c.status,
            events.c.risk_score,
            events.c.risk_level,
            events.c.detection_count,
        )
        if camera_id is not None:
            query = query.where(events.c.camera_id == camera_id)
        if since is not None:
            query = query.where(events.c.timestamp >= since)
        if until is not None:
            query = query.where(events.c.timestamp < until)
        if min_risk is not None:
            query = query.where(events.c.risk_score >= min_risk)
        if cursor is not None:
            after_time, after_id = decode_cursor(cursor)
            query = query.where(
                or_(events.c.timestamp < after_time, and_(events.c.timestamp == after_time, events.c.id < after_id))
            )
        query = query.order_by(events.c.timestamp.desc(), events.c.id.desc()).limit(limit + 1)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        page = [EventSummary(**row._mapping) for row in rows[:limit]]
        more = len(rows) > limit
        return EventPage(events=page, next_cursor=encode_cursor(page[-1].timestamp, page[-1].id) if more else None)

    def entity(self, entity_id: str, limit: int = 100) -> EntityRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(entities).where(entities.c.id == entity_id)).first()
            if row is None:
                return None
            seen = connection.execute(
                select(sightings)
                .where(sightings.c.entity_id == entity_id)
                .order_by(sightings.c.timestamp.desc(), sightings.c.id.desc())
                .limit(limit)
            ).all()
            cameras = connection.execute(
                select(sightings.c.camera_id).where(sightings.c.entity_id == entity_id).distinct()
            ).scalars()
            camera_list = sorted(cameras)
        return EntityRecord(
            id=row.id,
            kind=row.kind,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            sighting_count=row.sighting_count,
            cameras=camera_list,
            sightings=[
                Sighting(
                    event_id=s.event_id,
                    detection_id=s.detection_id,
                    camera_id=s.camera_id,
                    timestamp=s.timestamp,
                    similarity=s.similarity,
                )
                for s in seen
            ],
        )

    def recent_entities(self, since: float) -> list[Entity]:
        """Entities seen since ``since``, with the cameras that saw them: what can still match."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(entities).where(entities.c.last_seen >= since)).all()
            pairs = connection.execute(
                select(sightings.c.entity_id, sightings.c.camera_id)
                .join(entities, entities.c.id == sightings.c.entity_id)
                .where(entities.c.last_seen >= since)
                .distinct()
            ).all()
        cameras: dict[str, set[str]] = {}
        for entity_id, camera in pairs:
            cameras.setdefault(entity_id, set()).add(camera)
        return [
            Entity(
                r.id,
                r.kind,
                normalised(json.loads(r.embedding)),
                r.first_seen,
                r.last_seen,
                r.sighting_count,
                cameras.get(r.id, set()),
            )
            for r in rows
        ]

    def prune(self, before: float) -> int:
        """Events taken before ``before`` (their sightings go with them), then entities left
        without a sighting. Returns the number of events removed."""
        with self.engine.begin() as connection:
            old = select(events.c.id).where(events.c.timestamp < before)
            connection.execute(delete(sightings).where(sightings.c.event_id.in_(old)))
            removed = connection.execute(delete(events).where(events.c.timestamp < before)).rowcount
            orphaned = ~exists().where(sightings.c.entity_id == entities.c.id)
            connection.execute(delete(entities).where(orphaned))
        return removed

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(events)).scalar() or 0)


def _upsert_entity(connection: Connection, entity: Entity) -> None:
    """Update the row unless a later state of the entity is already stored (two frames'
    saves can commit out of order), or insert it when there is none (new, or its first
    write failed)."""
    values = {
        "kind": entity.kind,
        "embedding": json.dumps([round(float(v), 6) for v in np.asarray(entity.vector)]),
        "first_seen": entity.first_seen,
        "last_seen": entity.last_seen,
        "sighting_count": entity.sighting_count,
    }
    newer_or_same = and_(entities.c.id == entity.id, entities.c.sighting_count <= entity.sighting_count)
    if connection.execute(update(entities).where(newer_or_same).values(**values)).rowcount:
        return
    if connection.execute(select(entities.c.id).where(entities.c.id == entity.id)).first() is None:
        connection.execute(entities.insert().values(id=entity.id, **values))
