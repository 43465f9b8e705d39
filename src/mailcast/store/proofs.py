"""Named queries on proofs: the proofs sent for a delivery, and the profiles they personalise."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select

from mailcast.store.tables import profiles, proofs


def insert_proofs(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(proofs), rows)


def proofs_of(conn: Connection, delivery_id: int) -> list[RowMapping]:
    query = select(proofs).where(proofs.c.delivery_id == delivery_id).order_by(proofs.c.id)
    return list(conn.execute(query).mappings())


def profiles_by_key(conn: Connection, keys: Collection[str]) -> dict[str, RowMapping]:
    """The profile of each case-folded address (the oldest one when several share it)."""
    query = (
        select(profiles)
        .where(profiles.c.email_key.in_(sorted(keys)))
        .order_by(profiles.c.id.desc())
    )
    # Newest first, so that the oldest profile of an address is the one left in the dict.
    return {row["email_key"]: row for row in conn.execute(query).mappings()}
