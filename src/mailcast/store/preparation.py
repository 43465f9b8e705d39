"""Named queries of preparation: what recipients already received, and an append's held lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from mailcast.domain import DeliveryState, MessageStatus
from mailcast.store.counters import add_prepared_counts
from mailcast.store.tables import deliveries, exclusions, messages

# Deliveries whose queued messages will go out without anyone confirming them again.
GOING_OUT = (DeliveryState.SCHEDULED, DeliveryState.SENDING, DeliveryState.PAUSED)

# The next attempt of a message an append queued but has not released yet: the engine only
# claims messages that are due, so this keeps them back until the whole target was screened.
HELD = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def message_counts(
    conn: Connection, profile_ids: Collection[int], since: dt.datetime, now: dt.datetime
) -> dict[int, int]:
    """Messages per profile that the fatigue rule counts, for these profiles, in one query.

    A message counts when it was handed to the MTA in [since, now], or when it is still queued
    for a delivery that is going out (scheduled, sending or paused): it will be sent.
    """
    if not profile_ids:
        return {}
    counted = or_(
        messages.c.relayed_at.between(since, now),
        and_(messages.c.status == MessageStatus.QUEUED, deliveries.c.state.in_(GOING_OUT)),
    )
    query = (
        select(messages.c.profile_id, func.count())
        .select_from(messages.join(deliveries, deliveries.c.id == messages.c.delivery_id))
        .where(messages.c.profile_id.in_(sorted(profile_ids)), counted)
        .group_by(messages.c.profile_id)
    )
    return {int(profile_id): int(n) for profile_id, n in conn.execute(query)}


def delivered_addresses(conn: Connection, delivery_id: int, addresses: Collection[str]) -> set[str]:
    """Those of these addresses whose message of the delivery has the log status `sent`."""
    if not addresses:
        return set()
    query = select(messages.c.address).where(
        messages.c.delivery_id == delivery_id,
        messages.c.status == MessageStatus.SENT,
        messages.c.address.in_(sorted(addresses)),
    )
    return set(conn.execute(query).scalars())


def last_exclusion_id(conn: Connection, delivery_id: int) -> int:
    query = select(func.max(exclusions.c.id)).where(exclusions.c.delivery_id == delivery_id)
    return int(conn.execute(query).scalar_one() or 0)


def release_held(conn: Connection, delivery_id: int, now: dt.datetime) -> int:
    """Let the engine send what an append queued."""
    result = conn.execute(
        update(messages)
        .where(messages.c.delivery_id == delivery_id, messages.c.next_attempt_at == HELD)
        .values(next_attempt_at=None, updated_at=now)
    )
    return int(result.rowcount)


def take_back_held(
    conn: Connection, delivery_id: int, now: dt.datetime, after_exclusion_id: int | None = None
) -> None:
    """Remove what an append added, from the logs and the figures.

    The held messages still queued go (a stop may have marked some not sent already: those
    stay, as stopped); with `after_exclusion_id`, the exclusions logged after it go too.
    """
    removed = conn.execute(
        delete(messages).where(
            messages.c.delivery_id == delivery_id,
            messages.c.next_attempt_at == HELD,
            messages.c.status == MessageStatus.QUEUED,
        )
    ).rowcount
    unlogged = 0
    if after_exclusion_id is not None:
        unlogged = conn.execute(
            delete(exclusions).where(
                exclusions.c.delivery_id == delivery_id, exclusions.c.id > after_exclusion_id
            )
        ).rowcount
    add_prepared_counts(conn, delivery_id, -int(removed), -int(unlogged), now)
