"""Named queries for tracking: record a batch of opens and clicks, unsubscribe, mirror pages.

A batch is one transaction. Counting a message's first human open (click) is a conditional
UPDATE ... WHERE first_opened_at IS NULL RETURNING: of several server processes flushing at
once, exactly one sees the row change, so the unique counters stay exact on PostgreSQL too
(SQLite writers are serialised by BEGIN IMMEDIATE anyway).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    bindparam,
    case,
    select,
    update,
)

from mailcast.store.tables import delivery_counters, messages
from mailcast.store.tracking_events import chunks, write_events
from mailcast.tracking.tokens import TokenKind

if TYPE_CHECKING:
    from mailcast.tracking.recorder import Hit


@dataclass(frozen=True)
class _Columns:
    """The columns one kind of hit moves."""

    count: str
    machine: str
    first: str
    last: str
    unique: str
    total: str


_OPEN = _Columns(
    "opens",
    "machine_opens",
    "first_opened_at",
    "last_opened_at",
    "unique_opens",
    "total_opens",
)
_CLICK = _Columns(
    "clicks",
    "machine_clicks",
    "first_clicked_at",
    "last_clicked_at",
    "unique_clicks",
    "total_clicks",
)
_COLUMNS = {TokenKind.OPEN: _OPEN, TokenKind.CLICK: _CLICK}


@dataclass
class _Tally:
    """One message's hits of one kind in a batch."""

    counted: int = 0
    machine: int = 0
    first: dt.datetime | None = None
    last: dt.datetime | None = None

    def add(self, at: dt.datetime, counted: bool, machine: bool) -> None:
        self.machine += machine
        if counted:
            self.counted += 1
            self.first = at if self.first is None else min(self.first, at)
            self.last = at if self.last is None else max(self.last, at)


@dataclass
class _Batch:
    tallies: dict[TokenKind, dict[int, _Tally]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)  # those naming a message that exists


def sent_times(conn: Connection, message_ids: Iterable[int]) -> dict[int, tuple[Any, Any]]:
    """(relayed_at, delivered_at) of each of these messages that exists."""
    found: dict[int, tuple[Any, Any]] = {}
    for part in chunks(sorted(set(message_ids))):
        query = select(messages.c.id, messages.c.relayed_at, messages.c.delivered_at).where(
            messages.c.id.in_(part)
        )
        found.update({row.id: (row.relayed_at, row.delivered_at) for row in conn.execute(query)})
    return found


def record_hits(
    conn: Connection,
    hits: Sequence[Hit],
    now: dt.datetime,
    *,
    exclude_machine: bool = True,
    repeat_window: dt.timedelta = dt.timedelta(0),
) -> None:
    """Write one batch of opens and clicks: events, message columns, delivery counters.

    Machine hits are always logged (events.machine) and counted in machine_opens/clicks;
    with `exclude_machine` they stay out of opens, clicks, first/last times and unique_*.
    A hit repeating an event row less than `repeat_window` old adds to its `repeats`.
    Hits naming a message that no longer exists are dropped.
    """
    owners = _owners(conn, [hit.token.message_id for hit in hits])
    batch = _tally(hits, owners, exclude_machine)
    write_events(conn, batch.hits, owners, repeat_window)
    for kind, tallies in batch.tallies.items():
        _apply(conn, _COLUMNS[kind], tallies, owners, now)


def _owners(conn: Connection, message_ids: Iterable[int]) -> dict[int, tuple[int, int | None]]:
    """(delivery_id, profile_id) of each message that exists, its row locked for the batch.

    Rows are locked in id order before anything is updated: two processes flushing batches
    that share messages then wait for each other instead of deadlocking (PostgreSQL).
    """
    found: dict[int, tuple[int, int | None]] = {}
    for part in chunks(sorted(set(message_ids))):
        query = (
            select(messages.c.id, messages.c.delivery_id, messages.c.profile_id)
            .where(messages.c.id.in_(part))
            .order_by(messages.c.id)
            .with_for_update()
        )
        found.update({row.id: (row.delivery_id, row.profile_id) for row in conn.execute(query)})
    return found


def _tally(
    hits: Sequence[Hit], owners: dict[int, tuple[int, int | None]], exclude_machine: bool
) -> _Batch:
    batch = _Batch()
    for hit in hits:
        token = hit.token
        if token.kind not in _COLUMNS or token.message_id not in owners:
            continue
        counted = not (hit.machine and exclude_machine)
        tallies = batch.tallies.setdefault(token.kind, {})
        tallies.setdefault(token.message_id, _Tally()).add(hit.at, counted, hit.machine)
        batch.hits.append(hit)
    return batch


def _apply(
    conn: Connection,
    cols: _Columns,
    tallies: dict[int, _Tally],
    owners: dict[int, tuple[int, int | None]],
    now: dt.datetime,
) -> None:
    counted = {mid: t for mid, t in tallies.items() if t.counted}
    firsts = _mark_first(conn, cols, counted, now)
    _move_counted(conn, cols, counted, now)
    _move_machine_only(conn, cols, {m: t for m, t in tallies.items() if not t.counted}, now)
    totals: Counter[int] = Counter()
    for message_id, tally in counted.items():
        totals[owners[message_id][0]] += tally.counted
    _move_delivery_counters(conn, cols, firsts, totals, now)


def _mark_first(
    conn: Connection, cols: _Columns, counted: dict[int, _Tally], now: dt.datetime
) -> Counter[int]:
    """Set the first time on messages that had none; per delivery, how many that was."""
    firsts: Counter[int] = Counter()
    first_col = messages.c[cols.first]
    for part in chunks(sorted(counted)):
        when = case({mid: counted[mid].first for mid in part}, value=messages.c.id)
        stmt = (
            update(messages)
            .where(messages.c.id.in_(part), first_col.is_(None))
            .values({cols.first: when, "updated_at": now})
            .returning(messages.c.delivery_id)
        )
        firsts.update(row.delivery_id for row in conn.execute(stmt))
    return firsts


def _move_counted(
    conn: Connection, cols: _Columns, counted: dict[int, _Tally], now: dt.datetime
) -> None:
    if not counted:
        return
    first_col, last_col = messages.c[cols.first], messages.c[cols.last]
    first, last = bindparam("first", type_=first_col.type), bindparam("last", type_=last_col.type)
    stmt = (
        update(messages)
        .where(messages.c.id == bindparam("mid"))
        .values(
            {
                cols.count: _plus(messages.c[cols.count], "n"),
                cols.machine: _plus(messages.c[cols.machine], "m"),
                # Another process may have written an earlier or later time meanwhile.
                cols.first: case((first_col > first, first), else_=first_col),
                cols.last: case(
                    (last_col.is_(None), last), (last_col < last, last), else_=last_col
                ),
                "updated_at": now,
            }
        )
    )
    params = [
        {"mid": mid, "n": t.counted, "m": t.machine, "first": t.first, "last": t.last}
        for mid, t in counted.items()
    ]
    conn.execute(stmt, params)


def _move_machine_only(
    conn: Connection, cols: _Columns, tallies: dict[int, _Tally], now: dt.datetime
) -> None:
    if not tallies:
        return
    stmt = (
        update(messages)
        .where(messages.c.id == bindparam("mid"))
        .values({cols.machine: _plus(messages.c[cols.machine], "m"), "updated_at": now})
    )
    conn.execute(stmt, [{"mid": mid, "m": t.machine} for mid, t in tallies.items()])


def _move_delivery_counters(
    conn: Connection, cols: _Columns, firsts: Counter[int], totals: Counter[int], now: dt.datetime
) -> None:
    for delivery_id in sorted(set(firsts) | set(totals)):
        conn.execute(
            update(delivery_counters)
            .where(delivery_counters.c.delivery_id == delivery_id)
            .values(
                {
                    cols.unique: delivery_counters.c[cols.unique] + firsts[delivery_id],
                    cols.total: delivery_counters.c[cols.total] + totals[delivery_id],
                    "updated_at": now,
                }
            )
        )


def _plus(column: Column[Any], name: str) -> Any:
    return column + bindparam(name, type_=column.type)
