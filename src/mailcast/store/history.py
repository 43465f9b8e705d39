"""Named queries for a profile's history: its sending-log lines, exclusions, events, complaints."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, RowMapping, func, select

from mailcast.domain import EventKind
from mailcast.store.tables import deliveries, events, exclusions, messages, profiles


def profile_by_address(conn: Connection, address: str) -> RowMapping | None:
    """The profile with this address, compared case-folded as preparation compares them."""
    query = select(profiles).where(profiles.c.email_key == address.strip().casefold())
    return conn.execute(query.order_by(profiles.c.id).limit(1)).mappings().first()


def profile_messages(conn: Connection, profile_id: int) -> list[RowMapping]:
    """Every sending-log line of the profile, with its delivery's name and dates."""
    query = (
        select(
            messages,
            deliveries.c.name.label("delivery_name"),
            deliveries.c.started_at.label("delivery_started_at"),
            deliveries.c.created_at.label("delivery_created_at"),
        )
        .join(deliveries, deliveries.c.id == messages.c.delivery_id)
        .where(messages.c.profile_id == profile_id)
    )
    return list(conn.execute(query).mappings())


def profile_exclusions(conn: Connection, profile_id: int) -> list[RowMapping]:
    """Every delivery that targeted the profile and left it out at preparation, and why."""
    query = (
        select(exclusions, deliveries.c.name.label("delivery_name"))
        .join(deliveries, deliveries.c.id == exclusions.c.delivery_id)
        .where(exclusions.c.profile_id == profile_id)
    )
    return list(conn.execute(query).mappings())


def first_event_at(conn: Connection, profile_id: int) -> dict[int, dt.datetime]:
    """When something first happened to each of the profile's messages (its first hand-off)."""
    query = (
        select(events.c.message_id, func.min(events.c.at))
        .join(messages, messages.c.id == events.c.message_id)
        .where(messages.c.profile_id == profile_id)
        .group_by(events.c.message_id)
    )
    return {int(m): at for m, at in conn.execute(query)}


def complaints(conn: Connection, profile_id: int) -> dict[int, dt.datetime]:
    """When the profile first complained about each message it complained about."""
    query = (
        select(events.c.message_id, func.min(events.c.at))
        .where(events.c.profile_id == profile_id, events.c.kind == EventKind.COMPLAINED)
        .group_by(events.c.message_id)
    )
    return {int(m): at for m, at in conn.execute(query) if m is not None}
