"""Named queries for statistics: recounts from the logs, counter fixes, the shown-rates snapshot."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, String, case, distinct, func, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from mailcast.domain import EventKind, MessageStatus
from mailcast.store.tables import delivery_counters, events, exclusions, messages

# Every live counter compute-stats checks, in the order it reports them.
STATUS_COUNTERS = tuple(status.value for status in MessageStatus)
TRACKING_COUNTERS = (
    "unique_opens",
    "total_opens",
    "unique_clicks",
    "total_clicks",
    "unsubscribed",
)
COUNTERS = ("to_deliver", "excluded", *STATUS_COUNTERS, *TRACKING_COUNTERS)


class hour_of(FunctionElement[str]):
    """A UTC datetime column cut to its hour, as 'YYYY-MM-DD HH:00:00' text on both databases."""

    type = String()
    name = "hour_of"
    inherit_cache = True


@compiles(hour_of, "sqlite")
def _hour_sqlite(element: hour_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d %H:00:00', {compiler.process(element.clauses, **kw)})"


@compiles(hour_of, "postgresql")
def _hour_pg(element: hour_of, compiler: SQLCompiler, **kw: Any) -> str:
    # In UTC whatever the session's time zone (a half-hour zone would shift the buckets).
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:00:00')"


class domain_of(FunctionElement[str]):
    """The lower-cased part of an address after its first @."""

    type = String()
    name = "domain_of"
    inherit_cache = True


@compiles(domain_of, "sqlite")
def _domain_sqlite(element: domain_of, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"lower(substr({column}, instr({column}, '@') + 1))"


@compiles(domain_of, "postgresql")
def _domain_pg(element: domain_of, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"lower(substr({column}, strpos({column}, '@') + 1))"


def live_counters(
    conn: Connection, delivery_id: int, *, for_update: bool = False
) -> dict[str, int]:
    """The live counters; locked when asked, so that no batch moves them during a recount."""
    query = select(*(delivery_counters.c[name] for name in COUNTERS)).where(
        delivery_counters.c.delivery_id == delivery_id
    )
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().one()
    return {name: int(row[name]) for name in COUNTERS}


def recount(conn: Connection, delivery_id: int, *, exclude_machine: bool = True) -> dict[str, int]:
    """Every live counter recomputed from the sending log, the exclusion log and the events.

    With `exclude_machine` (tracking.exclude_machine_events), machine opens and clicks are
    left out, as the recorder leaves them out of the live counters. An event row stands for
    1 + its repeats opens (clicks).
    """
    found: dict[str, int] = dict.fromkeys(COUNTERS, 0)
    by_status = (
        select(messages.c.status, func.count())
        .where(messages.c.delivery_id == delivery_id)
        .group_by(messages.c.status)
    )
    for status, n in conn.execute(by_status):
        found[MessageStatus(status).value] = int(n)
    found["to_deliver"] = sum(found[name] for name in STATUS_COUNTERS)
    excluded = select(func.count()).where(exclusions.c.delivery_id == delivery_id)
    found["excluded"] = int(conn.execute(excluded).scalar_one())
    found.update(_recount_tracking(conn, delivery_id, exclude_machine))
    return found


def _recount_tracking(conn: Connection, delivery_id: int, exclude_machine: bool) -> dict[str, int]:
    # An unsubscribe counts once per message (and is never a machine's).
    query = (
        select(events.c.kind, _hits(), func.count(distinct(events.c.message_id)))
        .where(
            events.c.delivery_id == delivery_id,
            events.c.kind.in_([EventKind.OPENED, EventKind.CLICKED, EventKind.UNSUBSCRIBED]),
        )
        .group_by(events.c.kind)
    )
    if exclude_machine:
        query = query.where(events.c.machine.is_(False))
    found = dict.fromkeys(TRACKING_COUNTERS, 0)
    for kind, total, unique in conn.execute(query):
        if kind == EventKind.OPENED:
            found["total_opens"], found["unique_opens"] = int(total), int(unique)
        elif kind == EventKind.CLICKED:
            found["total_clicks"], found["unique_clicks"] = int(total), int(unique)
        else:
            found["unsubscribed"] = int(unique)
    return found


def _hits() -> ColumnElement[int]:
    """The hits a group of event rows stands for: each row, and the repeats it counted."""
    return func.sum(1 + events.c.repeats)


def set_counters(
    conn: Connection, delivery_id: int, values: dict[str, int], now: dt.datetime
) -> None:
    """Overwrite counters with recounted values and refresh the shown rates from them."""
    conn.execute(
        update(delivery_counters)
        .where(delivery_counters.c.delivery_id == delivery_id)
        .values(**values, updated_at=now)
    )
    refresh_shown(conn, now, delivery_id=delivery_id)


def refresh_shown(
    conn: Connection,
    now: dt.datetime,
    *,
    delivery_id: int | None = None,
    refreshed_before: dt.datetime | None = None,
) -> int:
    """Copy the live unique opens and clicks into the shown snapshot; rows refreshed."""
    query = update(delivery_counters).values(
        shown_unique_opens=delivery_counters.c.unique_opens,
        shown_unique_clicks=delivery_counters.c.unique_clicks,
        rates_refreshed_at=now,
    )
    if delivery_id is not None:
        query = query.where(delivery_counters.c.delivery_id == delivery_id)
    if refreshed_before is not None:
        query = query.where(
            or_(
                delivery_counters.c.rates_refreshed_at.is_(None),
                delivery_counters.c.rates_refreshed_at <= refreshed_before,
            )
        )
    return int(conn.execute(query).rowcount)


def shown_rates(conn: Connection, delivery_id: int) -> tuple[int, int, dt.datetime | None]:
    """The snapshot the Deployment block shows: unique opens, unique clicks, refreshed at."""
    query = select(
        delivery_counters.c.shown_unique_opens,
        delivery_counters.c.shown_unique_clicks,
        delivery_counters.c.rates_refreshed_at,
    ).where(delivery_counters.c.delivery_id == delivery_id)
    opens, clicks, at = conn.execute(query).one()
    return int(opens), int(clicks), at


# --- The dynamic report ---------------------------------------------------------------------


def hourly_events(conn: Connection, delivery_id: int) -> list[tuple[str, str, bool, int]]:
    """(hour, kind, machine, events) for every hour with events, oldest first."""
    hour = hour_of(events.c.at)
    query = (
        select(hour, events.c.kind, events.c.machine, _hits())
        .where(events.c.delivery_id == delivery_id)
        .group_by(hour, events.c.kind, events.c.machine)
        .order_by(hour)
    )
    return [(str(h), str(k), bool(m), int(n)) for h, k, m, n in conn.execute(query)]


def machine_totals(conn: Connection, delivery_id: int) -> dict[str, int]:
    """Opens and clicks flagged as machine events, kept in the log apart from the rates."""
    query = (
        select(events.c.kind, _hits())
        .where(
            events.c.delivery_id == delivery_id,
            events.c.kind.in_([EventKind.OPENED, EventKind.CLICKED]),
            events.c.machine.is_(True),
        )
        .group_by(events.c.kind)
    )
    return {str(kind): int(n) for kind, n in conn.execute(query)}


def failures_by_reason(conn: Connection, delivery_id: int) -> list[tuple[str, str, int]]:
    """(failure type, failure reason, messages) over the messages whose status is failed."""
    query = (
        select(messages.c.failure_type, messages.c.failure_reason, func.count())
        .where(messages.c.delivery_id == delivery_id, messages.c.status == MessageStatus.FAILED)
        .group_by(messages.c.failure_type, messages.c.failure_reason)
    )
    return [(t or "", r or "", int(n)) for t, r, n in conn.execute(query)]


def by_domain(conn: Connection, delivery_id: int) -> list[dict[str, Any]]:
    """Per recipient domain: messages, each status, and the messages opened and clicked."""
    domain = domain_of(messages.c.address)
    columns: list[ColumnElement[Any]] = [
        func.count().label("messages"),
        *(_count_if(messages.c.status == s).label(s.value) for s in MessageStatus),
        _count_if(messages.c.opens > 0).label("opened"),
        _count_if(messages.c.clicks > 0).label("clicked"),
    ]
    query = (
        select(domain.label("domain"), *columns)
        .where(messages.c.delivery_id == delivery_id)
        .group_by(domain)
        .order_by(func.count().desc(), domain)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))
