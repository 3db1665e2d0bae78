"""Latency samples per model (the Model Zoo's history).

Databases made before migrations existed already hold this table (created directly
from the metadata); it is adopted as it is.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("model_latency"):
        return
    op.create_table(
        "model_latency",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("service", sa.String(20), nullable=False),
        sa.Column("endpoint", sa.String(60), nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("recorded_at", sa.Float, nullable=False),
    )
    op.create_index("ix_model_latency_model_time", "model_latency", ["model", "recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_model_latency_model_time", table_name="model_latency")
    op.drop_table("model_latency")
