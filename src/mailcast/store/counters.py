"""Named queries on the live KPI counters and the recount from the sending log."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import Connection, func, select, update

from mailcast.domain import MessageStatus, StatusCounts
from mailcast.store.tables import delivery_counters, messages

STATUS_COLUMNS = {status: delivery_counters.c[status.value] for status in MessageStatus}


def read_counts(conn: Connection, delivery_id: int) -> StatusCounts:
    row = (
        conn.execute(
            select(delivery_counters).where(delivery_counters.c.delivery_id == delivery_id)
        )
        .mappings()
        .one()
    )
    return StatusCounts(
        to_deliver=row["to_deliver"],
        queued=row["queued"],
        pending=row["pending"],
        sent=row["sent"],
        failed=row["failed"],
        not_sent=row["not_sent"],
        unique_opens=row["unique_opens"],
        unique_clicks=row["unique_clicks"],
    )


def excluded_count(conn: Connection, delivery_id: int) -> int:
    query = select(delivery_counters.c.excluded).where(
        delivery_counters.c.delivery_id == delivery_id
    )
    return int(conn.execute(query).scalar_one())


def set_prepared_counts(
    conn: Connection, delivery_id: int, to_deliver: int, excluded: int, now: dt.datetime
) -> None:
    zeroes = {column.name: 0 for column in STATUS_COLUMNS.values()}
    zeroes["queued"] = to_deliver
    conn.execute(
        update(delivery_counters)
        .where(delivery_counters.c.delivery_id == delivery_id)
        .values(**zeroes, to_deliver=to_deliver, excluded=excluded, updated_at=now)
    )


def add_prepared_counts(
    conn: Connection, delivery_id: int, to_deliver: int, excluded: int, now: dt.datetime
) -> None:
    """Add newly queued messages and exclusions to the figures (negative: take them back)."""
    if to_deliver or excluded:
        c = delivery_counters.c
        conn.execute(
            update(delivery_counters)
            .where(c.delivery_id == delivery_id)
            .values(
                to_deliver=c.to_deliver + to_deliver,
                queued=c.queued + to_deliver,
                excluded=c.excluded + excluded,
                updated_at=now,
            )
        )


def apply_status_moves(
    conn: Connection,
    moves: dict[int, Counter[tuple[MessageStatus, MessageStatus]]],
    now: dt.datetime,
) -> None:
    """Move each delivery's counters by the status changes of one batch, in one statement each."""
    for delivery_id, changes in moves.items():
        delta: Counter[MessageStatus] = Counter()
        for (old, new), n in changes.items():
            if old != new:
                delta[old] -= n
                delta[new] += n
        values = {
            STATUS_COLUMNS[status].name: STATUS_COLUMNS[status] + n
            for status, n in delta.items()
            if n
        }
        if values:
            conn.execute(
                update(delivery_counters)
                .where(delivery_counters.c.delivery_id == delivery_id)
                .values(**values, updated_at=now)
            )


def recount_statuses(conn: Connection, delivery_id: int) -> dict[MessageStatus, int]:
    """The status counts recomputed from the sending log itself."""
    query = (
        select(messages.c.status, func.count())
        .where(messages.c.delivery_id == delivery_id)
        .group_by(messages.c.status)
    )
    found = {MessageStatus(status): int(n) for status, n in conn.execute(query)}
    return {status: found.get(status, 0) for status in MessageStatus}
