"""Named queries that read the logs a page at a time: sending log, exclusion log, events.

Every page is keyset-paginated by id (`id > after`, ascending): a page costs the same
wherever it is in the log, and lines written meanwhile never shift the pages already read.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, Table, select

from mailcast.store.tables import events, exclusions, messages

# The sending-log columns a reader sees; the engine's claim bookkeeping stays inside.
SENDING_LOG_COLUMNS = (
    "id",
    "delivery_id",
    "profile_id",
    "address",
    "status",
    "failure_type",
    "failure_reason",
    "attempts",
    "relay_attempts",
    "resends",
    "next_attempt_at",
    "smtp_code",
    "smtp_response",
    "mta_queue_id",
    "message_id_header",
    "relayed_at",
    "delivered_at",
    "opens",
    "clicks",
    "machine_opens",
    "machine_clicks",
    "first_opened_at",
    "last_opened_at",
    "first_clicked_at",
    "last_clicked_at",
    "unsubscribed_at",
    "updated_at",
)


def sending_log_page(
    conn: Connection,
    delivery_id: int,
    *,
    statuses: Collection[str] = (),
    failure_types: Collection[str] = (),
    failure_reasons: Collection[str] = (),
    after: int = 0,
    limit: int = 100,
) -> list[RowMapping]:
    """The next `limit` lines of a delivery's sending log matching every filter given."""
    query = select(*(messages.c[name] for name in SENDING_LOG_COLUMNS)).where(
        messages.c.delivery_id == delivery_id
    )
    query = _any_of(query, messages, "status", statuses)
    query = _any_of(query, messages, "failure_type", failure_types)
    query = _any_of(query, messages, "failure_reason", failure_reasons)
    return _page(conn, query, messages, after, limit)


def exclusion_page(
    conn: Connection,
    delivery_id: int,
    *,
    reasons: Collection[str] = (),
    after: int = 0,
    limit: int = 100,
) -> list[RowMapping]:
    query = select(exclusions).where(exclusions.c.delivery_id == delivery_id)
    return _page(conn, _any_of(query, exclusions, "reason", reasons), exclusions, after, limit)


def event_page(
    conn: Connection,
    *,
    delivery_id: int | None = None,
    message_id: int | None = None,
    kinds: Collection[str] = (),
    after: int = 0,
    limit: int = 100,
) -> list[RowMapping]:
    """Events of a delivery or of one message (at least one of the two is given)."""
    if delivery_id is None and message_id is None:
        raise ValueError("events are read for a delivery or a message")
    query = select(events)
    if delivery_id is not None:
        query = query.where(events.c.delivery_id == delivery_id)
    if message_id is not None:
        query = query.where(events.c.message_id == message_id)
    return _page(conn, _any_of(query, events, "kind", kinds), events, after, limit)


def message_exists(conn: Connection, message_id: int) -> bool:
    query = select(messages.c.id).where(messages.c.id == message_id)
    return conn.execute(query).first() is not None


def _any_of(query: Select[Any], table: Table, column: str, values: Collection[str]) -> Select[Any]:
    return query.where(table.c[column].in_(list(values))) if values else query


def _page(
    conn: Connection, query: Select[Any], table: Table, after: int, limit: int
) -> list[RowMapping]:
    page = query.where(table.c.id > after).order_by(table.c.id).limit(limit)
    return list(conn.execute(page).mappings())
