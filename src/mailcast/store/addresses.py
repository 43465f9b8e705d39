"""Named queries on address states (valid, erroneous, quarantine, denylist, allowlist)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, RowMapping, select
from sqlalchemy.dialects import postgresql, sqlite

from mailcast.domain import AddressStatus, FailureReason
from mailcast.store.tables import address_states


def _upsert(conn: Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT on both databases."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def set_address_status(
    conn: Connection,
    address_key: str,
    status: AddressStatus,
    now: dt.datetime,
    reason: FailureReason | None = None,
    detail: str | None = None,
) -> None:
    insert = _upsert(conn)
    values = {
        "status": status,
        "failure_reason": reason,
        "detail": detail,
        "status_changed_at": now,
        "updated_at": now,
    }
    statement = insert(address_states).values(address=address_key, error_count=0, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=["address"], set_=values))


def get_address_state(conn: Connection, address_key: str) -> RowMapping | None:
    query = select(address_states).where(address_states.c.address == address_key)
    return conn.execute(query).mappings().first()
