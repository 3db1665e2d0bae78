"""The backend's tables, in one metadata: what the migrations create and the stores
query. SQLite by default, PostgreSQL through ``DATABASE_URL``; only portable types."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

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

events = Table(
    "events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("camera_id", String(128), nullable=False),
    Column("timestamp", Float, nullable=False, doc="When the frame was taken, unix seconds UTC"),
    Column("created_at", Float, nullable=False),
    Column("status", String(20), nullable=False, doc="complete or degraded"),
    Column("risk_score", Integer, nullable=True, doc="Null when the risk analysis failed"),
    Column("risk_level", String(20), nullable=True),
    Column("detection_count", Integer, nullable=False),
    Column("document", Text, nullable=False, doc="The whole event as the API answers it (JSON)"),
)
# Newest first, optionally per camera; the id breaks ties for the cursor.
Index("ix_events_time", events.c.timestamp, events.c.id)
Index("ix_events_camera_time", events.c.camera_id, events.c.timestamp, events.c.id)
Index("ix_events_risk_time", events.c.risk_score, events.c.timestamp)

entities = Table(
    "entities",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False, doc="person or vehicle"),
    Column("embedding", Text, nullable=False, doc="L2-normalised running mean of its crops' embeddings (JSON)"),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("sighting_count", Integer, nullable=False),
)
Index("ix_entities_last_seen", entities.c.last_seen)

sightings = Table(
    "sightings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity_id", String(40), ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(40), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("detection_id", String(200), nullable=False),
    Column("camera_id", String(128), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("similarity", Float, nullable=False, doc="To the entity when matched; 1 for its first sighting"),
)
Index("ix_sightings_entity_time", sightings.c.entity_id, sightings.c.timestamp)
Index("ix_sightings_event", sightings.c.event_id)
