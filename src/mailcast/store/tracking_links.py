"""Named queries behind the unsubscribe and mirror links: once-per-message unsubscribing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, RowMapping, insert, select, update

from mailcast.domain import EventKind
from mailcast.store.tables import deliveries, delivery_counters, events, messages, profiles

# --- Unsubscribing --------------------------------------------------------------------------


def mark_unsubscribed(conn: Connection, message_id: int, at: dt.datetime) -> RowMapping | None:
    """Set the message's unsubscribed time unless it has one: its delivery and profile, or None."""
    stmt = (
        update(messages)
        .where(messages.c.id == message_id, messages.c.unsubscribed_at.is_(None))
        .values(unsubscribed_at=at, updated_at=at)
        .returning(messages.c.delivery_id, messages.c.profile_id)
    )
    return conn.execute(stmt).mappings().one_or_none()


def record_unsubscribed(
    conn: Connection, row: RowMapping, message_id: int, at: dt.datetime, source: str
) -> None:
    """The UNSUBSCRIBED event and the delivery's counter, for a message just unsubscribed."""
    conn.execute(
        insert(events).values(
            delivery_id=row["delivery_id"],
            message_id=message_id,
            profile_id=row["profile_id"],
            kind=EventKind.UNSUBSCRIBED.value,
            at=at,
            detail={"source": source},
            machine=False,
        )
    )
    conn.execute(
        update(delivery_counters)
        .where(delivery_counters.c.delivery_id == row["delivery_id"])
        .values(unsubscribed=delivery_counters.c.unsubscribed + 1, updated_at=at)
    )


def message_exists(conn: Connection, message_id: int) -> bool:
    query = select(messages.c.id).where(messages.c.id == message_id)
    return conn.execute(query).first() is not None


# --- Mirror pages ---------------------------------------------------------------------------


def mirror_source(conn: Connection, message_id: int) -> RowMapping | None:
    """What the mirror page of a message is rendered from: its delivery and its profile."""
    query = (
        select(
            messages.c.id.label("message_id"),
            messages.c.address,
            deliveries.c.id.label("delivery_id"),
            deliveries.c.subject,
            deliveries.c.from_addr,
            deliveries.c.reply_to,
            deliveries.c.html_template,
            deliveries.c.text_template,
            deliveries.c.inline_css,
            profiles.c.first_name,
            profiles.c.last_name,
            profiles.c.attributes,
        )
        .select_from(
            messages.join(deliveries, deliveries.c.id == messages.c.delivery_id).outerjoin(
                profiles, profiles.c.id == messages.c.profile_id
            )
        )
        .where(messages.c.id == message_id)
    )
    return conn.execute(query).mappings().one_or_none()
