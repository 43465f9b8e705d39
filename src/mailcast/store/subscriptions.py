"""Named queries on operators' unsubscribes and resubscribes of profiles, with their reasons."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, RowMapping, insert, select

from mailcast.store.tables import subscription_changes


def insert_change(
    conn: Connection,
    profile_id: int,
    *,
    subscribed: bool,
    reason: str,
    changed_by: str,
    at: dt.datetime,
) -> None:
    row = {
        "profile_id": profile_id,
        "subscribed": subscribed,
        "reason": reason,
        "changed_by": changed_by,
        "at": at,
    }
    conn.execute(insert(subscription_changes).values(row))


def changes_of(conn: Connection, profile_id: int) -> list[RowMapping]:
    """The profile's changes, latest first."""
    query = (
        select(subscription_changes)
        .where(subscription_changes.c.profile_id == profile_id)
        .order_by(subscription_changes.c.at.desc(), subscription_changes.c.id.desc())
    )
    return list(conn.execute(query).mappings())
