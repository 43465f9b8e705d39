"""Named queries of a delivery's reports: clicks per link, who opened or clicked, bounces, opt-outs.

Opens and clicks of people and of machines are told apart by the events' `machine` flag and by
the sending log's `opens`/`machine_opens` columns; each report says which it counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, RowMapping, case, distinct, func, select
from sqlalchemy.sql.elements import ColumnElement

from mailcast.domain import EventKind, FailureType, MessageStatus
from mailcast.store.stats import domain_of
from mailcast.store.tables import events, messages

# Buckets of the opens-and-clicks series: the text of the bucket's start, in UTC.
_SQLITE_FORMATS = {"minute": "%Y-%m-%d %H:%M:00", "hour": "%Y-%m-%d %H:00:00", "day": "%Y-%m-%d"}
_PG_FORMATS = {
    "minute": "YYYY-MM-DD HH24:MI:00",
    "hour": "YYYY-MM-DD HH24:00:00",
    "day": "YYYY-MM-DD",
}


# What "who opened" and "who clicked" show of each sending-log line.
_READER_COLUMNS = (
    messages.c.id,
    messages.c.address,
    messages.c.opens,
    messages.c.machine_opens,
    messages.c.first_opened_at,
    messages.c.last_opened_at,
    messages.c.clicks,
    messages.c.machine_clicks,
    messages.c.first_clicked_at,
    messages.c.last_clicked_at,
)


def same_snapshot(conn: Connection) -> None:
    """Let every query of this read transaction see one snapshot of the database.

    SQLite's WAL readers do already; PostgreSQL's READ COMMITTED takes a snapshot per statement,
    so a page's funnel, logs and cards could otherwise come from different moments of a send.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _url() -> ColumnElement[str]:
    return events.c.detail["url"].as_string()


def _hits() -> ColumnElement[int]:
    return func.sum(1 + events.c.repeats)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


def link_clicks(conn: Connection, delivery_id: int, *, people_only: bool) -> list[RowMapping]:
    """Per link URL: unique clicks (messages) and total clicks (hits), most clicked first."""
    url = _url().label("url")
    query = (
        select(
            url,
            func.count(distinct(events.c.message_id)).label("unique_clicks"),
            _hits().label("total_clicks"),
        )
        .where(events.c.delivery_id == delivery_id, events.c.kind == EventKind.CLICKED)
        .group_by(url)
        .order_by(func.count(distinct(events.c.message_id)).desc(), url)
    )
    if people_only:
        query = query.where(events.c.machine.is_(False))
    return list(conn.execute(query).mappings())


def readers_page(
    conn: Connection,
    delivery_id: int,
    kind: EventKind,
    *,
    people_only: bool,
    after: int = 0,
    limit: int = 100,
) -> list[RowMapping]:
    """Sending-log lines opened (or clicked) at least once, by id: who opened or clicked."""
    if kind is EventKind.CLICKED:
        counted = (
            messages.c.clicks if people_only else messages.c.clicks + messages.c.machine_clicks
        )
    else:
        counted = messages.c.opens if people_only else messages.c.opens + messages.c.machine_opens
    query = (
        select(*_READER_COLUMNS)
        .where(messages.c.delivery_id == delivery_id, counted > 0, messages.c.id > after)
        .order_by(messages.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def link_clickers_page(
    conn: Connection,
    delivery_id: int,
    url: str,
    *,
    people_only: bool,
    after: int = 0,
    limit: int = 100,
) -> list[RowMapping]:
    """Who clicked one link: readers_page's columns, with `link_clicks` (that link's hits)."""
    query = (
        select(
            *_READER_COLUMNS,
            _hits().label("link_clicks"),
            func.min(events.c.at).label("first_link_click_at"),
        )
        .select_from(events.join(messages, messages.c.id == events.c.message_id))
        .where(
            events.c.delivery_id == delivery_id,
            events.c.kind == EventKind.CLICKED,
            _url() == url,
            messages.c.id > after,
        )
        .group_by(*_READER_COLUMNS)
        .order_by(messages.c.id)
        .limit(limit)
    )
    if people_only:
        query = query.where(events.c.machine.is_(False))
    return list(conn.execute(query).mappings())


def bounces_by_domain(conn: Connection, delivery_id: int) -> list[RowMapping]:
    """Per recipient domain of the failed messages: failed, hard, soft, and messages in all."""
    domain = domain_of(messages.c.address).label("domain")
    failed = messages.c.status == MessageStatus.FAILED
    query = (
        select(
            domain,
            func.count().label("messages"),
            _count_if(failed).label("failed"),
            _count_if(failed & (messages.c.failure_type == FailureType.HARD)).label("hard"),
            _count_if(failed & (messages.c.failure_type == FailureType.SOFT)).label("soft"),
        )
        .where(messages.c.delivery_id == delivery_id)
        .group_by(domain)
        .having(_count_if(failed) > 0)
        .order_by(_count_if(failed).desc(), domain)
    )
    return list(conn.execute(query).mappings())


def opt_outs(conn: Connection, delivery_id: int) -> dict[str, int]:
    """Messages whose recipient unsubscribed, and messages complained about (once each)."""
    query = (
        select(events.c.kind, func.count(distinct(events.c.message_id)))
        .where(
            events.c.delivery_id == delivery_id,
            events.c.kind.in_([EventKind.UNSUBSCRIBED, EventKind.COMPLAINED]),
        )
        .group_by(events.c.kind)
    )
    found = {EventKind.UNSUBSCRIBED.value: 0, EventKind.COMPLAINED.value: 0}
    found.update({str(kind): int(n) for kind, n in conn.execute(query)})
    return found


def event_log_page(
    conn: Connection,
    delivery_id: int,
    kinds: Collection[str],
    *,
    machine: bool | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[RowMapping]:
    """Events of these kinds with their recipient's address; `machine`: only people/machines."""
    query = (
        select(
            events.c.id,
            events.c.at,
            events.c.kind,
            events.c.message_id,
            events.c.machine,
            events.c.repeats,
            events.c.detail,
            messages.c.address,
        )
        .select_from(events.outerjoin(messages, messages.c.id == events.c.message_id))
        .where(events.c.delivery_id == delivery_id, events.c.kind.in_(list(kinds)))
        .where(events.c.id > after)
        .order_by(events.c.id)
        .limit(limit)
    )
    if machine is not None:
        query = query.where(events.c.machine.is_(machine))
    return list(conn.execute(query).mappings())


def tracking_series(
    conn: Connection, delivery_id: int, unit: str, *, people_only: bool
) -> list[tuple[str, str, int]]:
    """(bucket start as UTC text, kind, hits) of opens and clicks per minute, hour or day."""
    bucket = _bucket(conn, events.c.at, unit).label("bucket")
    query = (
        select(bucket, events.c.kind, _hits())
        .where(
            events.c.delivery_id == delivery_id,
            events.c.kind.in_([EventKind.OPENED, EventKind.CLICKED]),
        )
        .group_by(bucket, events.c.kind)
        .order_by(bucket)
    )
    if people_only:
        query = query.where(events.c.machine.is_(False))
    return [(str(b), str(k), int(n)) for b, k, n in conn.execute(query)]


def first_tracked_at(conn: Connection, delivery_id: int) -> dt.datetime | None:
    """When the delivery's first message was handed over (the series starts there)."""
    query = select(func.min(messages.c.relayed_at)).where(messages.c.delivery_id == delivery_id)
    first = conn.execute(query).scalar_one_or_none()
    return first if isinstance(first, dt.datetime) else None


def _bucket(conn: Connection, column: Any, unit: str) -> ColumnElement[str]:
    if conn.dialect.name == "sqlite":
        return func.strftime(_SQLITE_FORMATS[unit], column)
    # In UTC whatever the session's time zone, as hour_of does.
    return func.to_char(func.timezone("UTC", column), _PG_FORMATS[unit])
