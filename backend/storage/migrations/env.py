"""Alembic's environment: runs on the engine the backend hands over (``database.py``),
or, from the ``alembic`` command line, on ``DATABASE_URL``."""

from __future__ import annotations

import os

from alembic import context

from backend.storage.database import make_engine
from backend.storage.schema import metadata

engine = context.config.attributes.get("engine")
if engine is None:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL to the database to migrate (e.g. sqlite:///data/backend.db)")
    engine = make_engine(url)

with engine.connect() as connection:
    # SQLite alters tables by copying them ("batch" mode); PostgreSQL alters in place.
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite"
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
