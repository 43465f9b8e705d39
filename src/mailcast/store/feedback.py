"""Named queries for feedback: the messages a report names, what was applied, validity ends."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, exists, or_, select, update

from mailcast.domain import DeliveryState, FailureType, FeedbackMode, MessageStatus, SendState
from mailcast.store.messages import write_outcomes
from mailcast.store.sets import ByDialect, in_set
from mailcast.store.tables import deliveries, events, messages

# The columns applying feedback (or ending the validity period) writes back, per message.
FEEDBACK_COLUMNS = (
    "status",
    "send_state",
    "next_attempt_at",
    "first_failure_at",
    "failure_type",
    "failure_reason",
    "delivered_at",
)


@dataclass(frozen=True, slots=True)
class Target:
    """A message as feedback sees it: its log line and what its delivery allows."""

    id: int
    delivery_id: int
    profile_id: int | None
    address: str
    status: MessageStatus
    send_state: SendState
    next_attempt_at: dt.datetime | None
    attempts: int
    first_failure_at: dt.datetime | None
    failure_type: str | None
    failure_reason: str | None
    delivered_at: dt.datetime | None
    mode: FeedbackMode
    delivery_state: DeliveryState
    validity_ends_at: dt.datetime | None
    relayed: bool  # handed to a relay at least once, as far as the worker has recorded


_TARGET_COLUMNS = (
    messages.c.id,
    messages.c.delivery_id,
    messages.c.profile_id,
    messages.c.address,
    messages.c.status,
    messages.c.send_state,
    messages.c.next_attempt_at,
    messages.c.attempts,
    messages.c.first_failure_at,
    messages.c.failure_type,
    messages.c.failure_reason,
    messages.c.delivered_at,
    deliveries.c.feedback_mode,
    deliveries.c.state,
    deliveries.c.validity_ends_at,
    messages.c.relayed_at,
)


_TARGETS = ByDialect(
    lambda dialect: (
        select(*_TARGET_COLUMNS)
        .select_from(messages.join(deliveries, deliveries.c.id == messages.c.delivery_id))
        .where(in_set(messages.c.id, "ids", dialect))
        .order_by(messages.c.id)
        .with_for_update(of=messages)
    )
)
_KNOWN_KEYS = ByDialect(
    lambda dialect: select(events.c.source_key).where(in_set(events.c.source_key, "keys", dialect))
)


def _target(row: Any) -> Target:
    return Target(
        id=row.id,
        delivery_id=row.delivery_id,
        profile_id=row.profile_id,
        address=row.address,
        status=MessageStatus(row.status),
        send_state=SendState(row.send_state),
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        first_failure_at=row.first_failure_at,
        failure_type=row.failure_type,
        failure_reason=row.failure_reason,
        delivered_at=row.delivered_at,
        mode=FeedbackMode(row.feedback_mode),
        delivery_state=DeliveryState(row.state),
        validity_ends_at=row.validity_ends_at,
        relayed=row.relayed_at is not None,
    )


def targets(conn: Connection, message_ids: Iterable[int]) -> dict[int, Target]:
    """The named messages that exist, locked for this transaction."""
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    return {row.id: _target(row) for row in conn.execute(_TARGETS(conn), {"ids": ids})}


def known_source_keys(conn: Connection, keys: Iterable[str]) -> set[str]:
    """The keys among these whose feedback was applied before."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    found = conn.execute(_KNOWN_KEYS(conn), {"keys": wanted}).scalars()
    return {str(key) for key in found}


def record_feedback(
    conn: Connection,
    rows: list[dict[str, Any]],
    new_events: list[dict[str, Any]],
    moves: dict[int, Counter[tuple[MessageStatus, MessageStatus]]],
    now: dt.datetime,
) -> None:
    """Write what feedback changed: log lines, one event each, the counters; all at once."""
    write_outcomes(conn, FEEDBACK_COLUMNS, rows, new_events, moves, now)


# --- the end of the validity period ---------------------------------------------------------

# Deliveries whose messages may still be retried or reported on until the validity ends; a
# send still going, or paused, when it ends is finished too (schedule/validity.py).
ENDING_STATES = (
    DeliveryState.SENT,
    DeliveryState.STOPPED,
    DeliveryState.SENDING,
    DeliveryState.PAUSED,
)


def deliveries_past_validity(conn: Connection, now: dt.datetime) -> list[int]:
    query = (
        select(deliveries.c.id)
        .where(deliveries.c.state.in_(ENDING_STATES), deliveries.c.validity_ends_at <= now)
        .order_by(deliveries.c.id)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def lock_delivery(conn: Connection, delivery_id: int) -> tuple[DeliveryState, FeedbackMode] | None:
    query = (
        select(deliveries.c.state, deliveries.c.feedback_mode)
        .where(deliveries.c.id == delivery_id)
        .with_for_update()
    )
    row = conn.execute(query).first()
    return None if row is None else (DeliveryState(row.state), FeedbackMode(row.feedback_mode))


def has_messages_in_flight(conn: Connection, delivery_id: int) -> bool:
    query = select(
        exists().where(
            messages.c.delivery_id == delivery_id, messages.c.send_state == SendState.IN_FLIGHT
        )
    )
    return bool(conn.execute(query).scalar())


def unresolved_messages(conn: Connection, delivery_id: int) -> list[Target]:
    """Messages whose soft failure nothing resolved: waiting for a retry, or given up on.

    Legacy mode logs them 'sent' with a soft failure type, or 'queued' with one when every
    hand-off so far got a 4xx; both modes log them 'failed' with a soft type, or with none
    once a retry was handed over (EFS: only a report says more).
    """
    waiting_retry = and_(
        messages.c.send_state == SendState.WAITING, messages.c.status != MessageStatus.QUEUED
    )
    soft_unresolved = and_(
        messages.c.status == MessageStatus.SENT,
        messages.c.failure_type == FailureType.SOFT,
        messages.c.delivered_at.is_(None),
    )
    not_succeeded = and_(
        messages.c.status == MessageStatus.FAILED,
        or_(messages.c.failure_type.is_(None), messages.c.failure_type == FailureType.SOFT),
    )
    # Legacy mode: refused with a 4xx at every hand-off so far, still queued for its retry.
    deferred = and_(
        messages.c.status == MessageStatus.QUEUED, messages.c.failure_type == FailureType.SOFT
    )
    query = (
        select(*_TARGET_COLUMNS)
        .select_from(messages.join(deliveries, deliveries.c.id == messages.c.delivery_id))
        .where(
            messages.c.delivery_id == delivery_id,
            or_(waiting_retry, soft_unresolved, not_succeeded, deferred),
        )
        .order_by(messages.c.id)
        .with_for_update(of=messages)
    )
    return [_target(row) for row in conn.execute(query)]


def finish_delivery(conn: Connection, delivery_id: int, now: dt.datetime) -> bool:
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.state.in_(ENDING_STATES))
        .values(state=DeliveryState.FINISHED, finished_at=now, updated_at=now)
    )
    return bool(result.rowcount)
