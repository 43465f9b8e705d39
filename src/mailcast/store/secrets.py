"""Named queries on generated secrets (signing keys kept in the database)."""

from __future__ import annotations

import secrets as random

from sqlalchemy import Connection, insert, select

from mailcast.store.tables import secrets


def get_or_create_secret(conn: Connection, name: str) -> str:
    existing = conn.execute(select(secrets.c.value).where(secrets.c.name == name)).scalar()
    if existing is not None:
        return str(existing)
    value = random.token_urlsafe(32)
    conn.execute(insert(secrets).values(name=name, value=value))
    return value
