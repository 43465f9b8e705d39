"""Leases from the send windows that every worker draws its rate and quotas from."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from mailcast.store.db import insert_on_conflict
from mailcast.store.tables import send_windows


def lease(conn: Connection, name: str, window: int, cap: int, wanted: int) -> int:
    """Take up to `wanted` of the window's `cap`; how many were granted (0: it is used up)."""
    conn.execute(
        insert_on_conflict(conn, send_windows)
        .values(name=name, window_index=window, used=0)
        .on_conflict_do_nothing(index_elements=["name", "window_index"])
    )
    key = (send_windows.c.name == name, send_windows.c.window_index == window)
    used = conn.execute(select(send_windows.c.used).where(*key).with_for_update()).scalar_one()
    granted = max(0, min(wanted, cap - used))
    if granted:
        conn.execute(update(send_windows).where(*key).values(used=used + granted))
    return granted


def forget_before(conn: Connection, name: str, window: int) -> None:
    """Windows long past say nothing any more."""
    conn.execute(
        delete(send_windows).where(
            send_windows.c.name == name, send_windows.c.window_index < window
        )
    )


def used_in(conn: Connection, name: str, window: int) -> int:
    query = select(send_windows.c.used).where(
        send_windows.c.name == name, send_windows.c.window_index == window
    )
    return int(conn.execute(query).scalar() or 0)
