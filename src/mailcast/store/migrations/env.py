"""Alembic environment: runs mailcast's migrations against the configured database."""

from __future__ import annotations

from alembic import context

from mailcast.store.db import migration_engine
from mailcast.store.tables import metadata

url = context.config.get_main_option("sqlalchemy.url")
assert url is not None, "sqlalchemy.url must be set"
engine = migration_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
