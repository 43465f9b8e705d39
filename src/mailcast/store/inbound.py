"""Named queries on the inbound reports: what reached the bounce receiver, and what became of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Json
from sqlalchemy import (
    Connection,
    Dialect,
    RowMapping,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from mailcast.domain import ReportOutcome
from mailcast.store.many_rows import update_rows
from mailcast.store.sets import ByDialect, in_set
from mailcast.store.tables import inbound_reports

# Every column but the raw bytes: what listings show.
_SUMMARY = [c for c in inbound_reports.c if c.name != "raw"]


@dataclass(frozen=True, slots=True)
class Processed:
    """What processing a stored report found."""

    outcome: ReportOutcome
    kind: str
    applied: int = 0
    duplicates: int = 0
    unmatched: int = 0
    deferred: int = 0
    error: str | None = None
    subject: str | None = None  # for listings: what the sender called it


@dataclass(frozen=True, slots=True)
class Arrived:
    """A message as the receiver took it, before anything reads it."""

    raw: bytes
    mail_from: str
    recipients: list[str]
    peer: str | None
    received_at: dt.datetime


def insert_reports(conn: Connection, arrived: list[Arrived]) -> list[int]:
    """Keep messages as they arrived; their report ids, in order."""
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        return insert_reports_sqlite(cursor, conn.dialect, arrived)
    statement = insert(inbound_reports).returning(
        inbound_reports.c.id, sort_by_parameter_order=True
    )
    return [int(i) for i in conn.execute(statement, [arrived_values(a) for a in arrived]).scalars()]


def insert_reports_sqlite(cursor: Any, dialect: Dialect, arrived: list[Arrived]) -> list[int]:
    """`insert_reports` with SQLite's own cursor (the receiver keeps every DSN so): one
    statement built once costs a tenth of SQLAlchemy building the insert for each group."""
    processors = _sqlite_processors(dialect)
    ids = []
    for a in arrived:
        cursor.execute(_KEEP_ONE_SQLITE, _kept_row(a, processors))
        ids.append(int(cursor.lastrowid))
    return ids


async def insert_reports_async(conn: AsyncConnection, arrived: list[Arrived]) -> list[int]:
    """`insert_reports` on a psycopg asyncio connection (PostgreSQL): one statement, which
    commits by itself on a connection in autocommit (one round trip for the whole group)."""
    values: list[Any] = []
    for a in arrived:
        row = arrived_values(a)
        row["recipients"] = Json(a.recipients)
        row["outcome"] = ReportOutcome.RECEIVED.value
        values += [row[name] for name in _KEPT_BY_ROW]
    cursor = await conn.execute(_keep_all_postgres(len(arrived)), values, binary=True)
    # Rows go in in the order given, each taking the next id: in order, sorted.
    return sorted(int(row[0]) for row in await cursor.fetchall())


# The receiver's statements, the same text each time (psycopg prepares PostgreSQL's once).
_KEPT = (
    "received_at",
    "mail_from",
    "recipients",
    "peer",
    "size",
    "raw",
    "outcome",
    "applied",
    "duplicates",
    "unmatched",
    "deferred",
)
_KEEP_ONE_SQLITE = (
    f"INSERT INTO {inbound_reports.name} ({', '.join(_KEPT)}) "
    f"VALUES ({', '.join('?' * len(_KEPT))})"
)
_KEPT_BY_ROW = _KEPT[:7]  # the counters start at 0


@cache
def _keep_all_postgres(rows: int) -> str:
    """PostgreSQL: the group as rows of values, one text per group size. For the few rows a
    group holds, scalar parameters cost less to send than a column of arrays."""
    row = f"({', '.join(['%b'] * len(_KEPT_BY_ROW))}, 0, 0, 0, 0)"
    return (
        f"INSERT INTO {inbound_reports.name} ({', '.join(_KEPT)}) "
        f"VALUES {', '.join([row] * rows)} RETURNING id"
    )


@cache
def _sqlite_processors(dialect: Dialect) -> list[Callable[[Any], Any] | None]:
    """Each column's conversion as SQLAlchemy writes it (timestamps, JSON), so the rows kept
    this way read back as the others do."""
    return [
        inbound_reports.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in _KEPT
    ]


def _kept_row(arrived: Arrived, processors: list[Callable[[Any], Any] | None]) -> list[Any]:
    values = arrived_values(arrived)
    return [
        value if process is None else process(value)
        for value, process in zip((values[name] for name in _KEPT), processors, strict=True)
    ]


def arrived_values(arrived: Arrived) -> dict[str, Any]:
    """A kept message's row, by the table's column names."""
    return {
        "received_at": arrived.received_at,
        "mail_from": arrived.mail_from[:400],
        "recipients": arrived.recipients,
        "peer": (arrived.peer or "")[:100] or None,
        "size": len(arrived.raw),
        "raw": arrived.raw,
        "outcome": ReportOutcome.RECEIVED,
        "applied": 0,
        "duplicates": 0,
        "unmatched": 0,
        "deferred": 0,
    }


def get_report(conn: Connection, report_id: int) -> RowMapping | None:
    query = select(inbound_reports).where(inbound_reports.c.id == report_id)
    return conn.execute(query).mappings().first()


def claim_reports(
    conn: Connection,
    *,
    now: dt.datetime,
    until: dt.datetime,
    retry_before: dt.datetime,
    limit: int,
) -> list[RowMapping]:
    """Reports waiting to be applied, claimed until `until`: oldest first, each by one claimer.

    Waiting: never read, or left partly applied before `retry_before` (a message was on the
    wire); and claimed by no one, or by a consumer that did not finish in time.
    """
    t = inbound_reports.c
    waiting = (
        select(t.id)
        .where(
            t.outcome == ReportOutcome.RECEIVED,
            or_(t.processed_at.is_(None), t.processed_at <= retry_before),
            or_(t.claimed_until.is_(None), t.claimed_until < now),
        )
        .order_by(t.id)
        .limit(limit)
        # PostgreSQL: consumers side by side take different reports; SQLite has one writer.
        .with_for_update(skip_locked=True)
    )
    ids = [int(i) for i in conn.execute(waiting).scalars()]
    if not ids:
        return []
    conn.execute(_CLAIM(conn), {"ids": ids, "until": until})
    return list(conn.execute(_CLAIMED(conn), {"ids": ids}).mappings())


_CLAIM = ByDialect(
    lambda dialect: (
        update(inbound_reports)
        .where(in_set(inbound_reports.c.id, "ids", dialect))
        .values(claimed_until=bindparam("until", type_=inbound_reports.c.claimed_until.type))
    )
)
_CLAIMED = ByDialect(
    lambda dialect: (
        select(
            inbound_reports.c.id,
            inbound_reports.c.raw,
            inbound_reports.c.recipients,
            inbound_reports.c.received_at,
        )
        .where(in_set(inbound_reports.c.id, "ids", dialect))
        .order_by(inbound_reports.c.id)
    )
)


def record_processing(conn: Connection, processed: dict[int, Processed], now: dt.datetime) -> None:
    """What became of each report; the claim ends."""
    if not processed:
        return
    rows = [_row(report_id, p) for report_id, p in processed.items()]
    same = {"processed_at": now, "claimed_until": None}
    update_rows(conn, inbound_reports, _PROCESSED_COLUMNS, rows, same=same)


_PROCESSED_COLUMNS = (
    "outcome",
    "kind",
    "applied",
    "duplicates",
    "unmatched",
    "deferred",
    "error",
    "subject",
)


def _row(report_id: int, processed: Processed) -> dict[str, Any]:
    return {
        "id": report_id,
        "outcome": processed.outcome,
        "kind": processed.kind,
        "applied": processed.applied,
        "duplicates": processed.duplicates,
        "unmatched": processed.unmatched,
        "deferred": processed.deferred,
        "error": processed.error,
        "subject": processed.subject,
    }


def unread_count(conn: Connection) -> int:
    """Reports kept and never read yet."""
    t = inbound_reports.c
    query = select(func.count()).where(
        t.outcome == ReportOutcome.RECEIVED, t.processed_at.is_(None)
    )
    return int(conn.execute(query).scalar_one())


def list_reports(
    conn: Connection, outcome: ReportOutcome | None = None, limit: int = 100
) -> list[RowMapping]:
    """The newest reports first, without their raw bytes."""
    query = select(*_SUMMARY).order_by(inbound_reports.c.id.desc()).limit(limit)
    if outcome is not None:
        query = query.where(inbound_reports.c.outcome == outcome)
    return list(conn.execute(query).mappings())


def outcome_counts(conn: Connection) -> dict[ReportOutcome, int]:
    query = select(inbound_reports.c.outcome, func.count()).group_by(inbound_reports.c.outcome)
    found = {ReportOutcome(outcome): int(n) for outcome, n in conn.execute(query)}
    return {outcome: found.get(outcome, 0) for outcome in ReportOutcome}
