"""Risk events, the entities seen in them and each sighting.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("risk_score", sa.Integer, nullable=True),
        sa.Column("risk_level", sa.String(20), nullable=True),
        sa.Column("detection_count", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_index("ix_events_time", "events", ["timestamp", "id"])
    op.create_index("ix_events_camera_time", "events", ["camera_id", "timestamp", "id"])
    op.create_index("ix_events_risk_time", "events", ["risk_score", "timestamp"])
    op.create_table(
        "entities",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("embedding", sa.Text, nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("sighting_count", sa.Integer, nullable=False),
    )
    op.create_index("ix_entities_last_seen", "entities", ["last_seen"])
    op.create_table(
        "sightings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity_id", sa.String(40), sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", sa.String(40), sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("detection_id", sa.String(200), nullable=False),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
    )
    op.create_index("ix_sightings_entity_time", "sightings", ["entity_id", "timestamp"])
    op.create_index("ix_sightings_event", "sightings", ["event_id"])


def downgrade() -> None:
    op.drop_table("sightings")
    op.drop_table("entities")
    op.drop_table("events")
