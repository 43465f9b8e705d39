"""Named queries on the sending log: queueing, batch claims under a lease, batch recording."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from mailcast.domain import DeliveryState, FailureType, MessageStatus, NotSentReason, SendState
from mailcast.store.counters import apply_status_moves
from mailcast.store.many_rows import insert_rows, update_rows
from mailcast.store.opt_outs import drop_opted_out
from mailcast.store.tables import deliveries, events, messages, profiles


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    delivery_id: int
    profile_id: int | None
    address: str
    status: MessageStatus
    attempts: int
    first_failure_at: dt.datetime | None
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]
    relay_attempts: int = 0
    resends: int = 0

    def hand_off_begun(self) -> dict[str, int]:
        """The counts once a hand-off of it began (the engine marks it so before its DATA).

        A hand-off begun and never recorded (its worker died) makes the next one a re-send.
        """
        lost = self.relay_attempts > self.attempts
        return {"relay_attempts": self.relay_attempts + 1, "resends": self.resends + lost}


# Every column the engine writes back for a message; one executemany per batch.
RECORDED_COLUMNS = (
    "status",
    "send_state",
    "next_attempt_at",
    "attempts",
    "relay_attempts",
    "resends",
    "first_failure_at",
    "failure_type",
    "failure_reason",
    "smtp_code",
    "smtp_response",
    "mta_queue_id",
    "message_id_header",
    "relayed_at",
    "relayed_by",
)


def insert_queued(conn: Connection, rows: list[dict[str, Any]], now: dt.datetime) -> None:
    """Queue one message per recipient (preparation)."""
    if rows:
        queued = {"status": MessageStatus.QUEUED, "send_state": SendState.WAITING, "attempts": 0}
        conn.execute(insert(messages), [{**queued, "updated_at": now, **row} for row in rows])


def release_expired_leases(conn: Connection, now: dt.datetime) -> int:
    """Give back the batches of workers that stopped renewing their lease (they died)."""
    result = conn.execute(
        update(messages)
        .where(messages.c.send_state == SendState.IN_FLIGHT, messages.c.lease_until < now)
        .values(send_state=SendState.WAITING, claimed_by=None, lease_until=None, updated_at=now)
    )
    return int(result.rowcount)


_CLAIM = (
    update(messages)
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        send_state=SendState.IN_FLIGHT,
        claimed_by=bindparam("worker"),
        lease_until=bindparam("lease_until", type_=messages.c.lease_until.type),
    )
)
_CLAIMED = (
    select(
        messages.c.id,
        messages.c.delivery_id,
        messages.c.profile_id,
        messages.c.address,
        messages.c.status,
        messages.c.attempts,
        messages.c.relay_attempts,
        messages.c.resends,
        messages.c.first_failure_at,
        profiles.c.first_name,
        profiles.c.last_name,
        profiles.c.attributes,
    )
    .select_from(messages.outerjoin(profiles, profiles.c.id == messages.c.profile_id))
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(messages.c.id)
)


def claim_batch(
    conn: Connection,
    delivery_id: int,
    worker: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
) -> list[ClaimedMessage]:
    """Mark up to `limit` due messages in flight for this worker; others skip locked rows.

    Only while the delivery sends: a pause or stop committed a moment ago stops the claims.
    A message whose recipient opted out since preparation is not claimed: it becomes not_sent
    here (store/opt_outs.py), and when a whole batch did, the claim takes the next one.
    """
    sending = exists().where(
        deliveries.c.id == delivery_id,
        deliveries.c.state.in_((DeliveryState.SENDING, DeliveryState.SENT)),
    )
    due = (
        select(messages.c.id)
        .where(
            messages.c.send_state == SendState.WAITING,
            messages.c.delivery_id == delivery_id,
            or_(messages.c.next_attempt_at.is_(None), messages.c.next_attempt_at <= now),
            sending,
        )
        .order_by(messages.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids: list[int] = []
    while not ids:
        due_ids = list(conn.execute(due).scalars())
        if not due_ids:
            return []
        ids = drop_opted_out(conn, due_ids, now)
    conn.execute(_CLAIM, {"ids": ids, "worker": worker, "lease_until": lease_until})
    return [
        ClaimedMessage(
            id=row.id,
            delivery_id=row.delivery_id,
            profile_id=row.profile_id,
            address=row.address,
            status=MessageStatus(row.status),
            attempts=row.attempts,
            first_failure_at=row.first_failure_at,
            first_name=row.first_name,
            last_name=row.last_name,
            attributes=row.attributes or {},
            relay_attempts=row.relay_attempts,
            resends=row.resends,
        )
        for row in conn.execute(_CLAIMED, {"ids": ids})
    ]


# Built once: it runs for every few messages sent, and building it cost more than running it.
_BEGIN_HAND_OFFS = (
    update(messages)
    .where(
        messages.c.id.in_(bindparam("ids", expanding=True)),
        messages.c.claimed_by == bindparam("worker"),
        messages.c.send_state == SendState.IN_FLIGHT,
    )
    .values(
        relay_attempts=messages.c.relay_attempts + 1,
        resends=messages.c.resends
        + case((messages.c.relay_attempts > messages.c.attempts, 1), else_=0),
    )
    .returning(messages.c.id)
)


def begin_hand_offs(conn: Connection, worker: str, message_ids: list[int]) -> set[int]:
    """Count a hand-off begun for each message this worker still holds; those are returned.

    The same counts as `ClaimedMessage.hand_off_begun`, written before any DATA so that they
    survive the worker: a message whose lease ran out meanwhile is not sent by it.
    """
    if conn.dialect.name == "postgresql":
        # The mark must outlive the worker, not the database server: no wait for the WAL flush.
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    result = conn.execute(_BEGIN_HAND_OFFS, {"ids": message_ids, "worker": worker})
    return {int(i) for i in result.scalars()}


def extend_leases(conn: Connection, worker: str, lease_until: dt.datetime) -> None:
    conn.execute(
        update(messages)
        .where(messages.c.send_state == SendState.IN_FLIGHT, messages.c.claimed_by == worker)
        .values(lease_until=lease_until)
    )


def release_claims(conn: Connection, worker: str, message_ids: list[int], now: dt.datetime) -> None:
    """Put claimed messages back in the queue untouched (pause, shutdown)."""
    if message_ids:
        conn.execute(
            update(messages)
            .where(messages.c.id.in_(message_ids), messages.c.claimed_by == worker)
            .values(send_state=SendState.WAITING, claimed_by=None, lease_until=None, updated_at=now)
        )


def write_outcomes(
    conn: Connection,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    new_events: list[dict[str, Any]],
    moves: dict[int, Counter[tuple[MessageStatus, MessageStatus]]],
    now: dt.datetime,
    *,
    worker: str | None = None,
) -> None:
    """Write log lines (these columns), their events and the counters: one statement each.

    With `worker`, only the lines that worker still holds are written, and its claim ends.
    """
    if rows:
        same: dict[str, Any] = {"updated_at": now}
        if worker is not None:
            same |= {"claimed_by": None, "lease_until": None}
        only = {"claimed_by": worker} if worker is not None else None
        update_rows(conn, messages, columns, rows, same=same, only_where=only)
    if new_events:
        insert_rows(conn, events, new_events)
    apply_status_moves(conn, moves, now)


def record_batch(
    conn: Connection,
    worker: str,
    rows: list[dict[str, Any]],
    new_events: list[dict[str, Any]],
    moves: dict[int, Counter[tuple[MessageStatus, MessageStatus]]],
    now: dt.datetime,
) -> None:
    """Write one batch of the engine's outcomes, at once."""
    write_outcomes(conn, RECORDED_COLUMNS, rows, new_events, moves, now, worker=worker)


# Queued and not yet refused: a legacy message queued again after a 4xx is a retry.
_first_hand_off_due = and_(
    messages.c.status == MessageStatus.QUEUED,
    or_(messages.c.failure_type.is_(None), messages.c.failure_type != FailureType.SOFT),
)


def finish_sending(
    conn: Connection, delivery_id: int, now: dt.datetime, *, period_over: bool = False
) -> bool:
    """Mark a delivery sent once no message of it waits for its first hand-off.

    A recurring delivery's period delivery takes more recipients until its period is over:
    only the recurring job, which knows that (`period_over`), marks it sent.
    """
    unsent = exists().where(messages.c.delivery_id == delivery_id, _first_hand_off_due)
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.state == DeliveryState.SENDING,
            ~unsent,
            deliveries.c.aggregate_period.is_(None) | period_over,
        )
        .values(state=DeliveryState.SENT, sent_at=now, updated_at=now)
    )
    return bool(result.rowcount)


def count_relayed_more_than_once(conn: Connection, delivery_id: int) -> int:
    """Messages handed over again after a hand-off whose outcome was lost (a worker died)."""
    query = select(func.count()).where(
        messages.c.delivery_id == delivery_id, messages.c.resends > 0
    )
    return int(conn.execute(query).scalar_one())


def count_in_flight(conn: Connection, delivery_id: int | None = None) -> int:
    query = select(func.count()).where(messages.c.send_state == SendState.IN_FLIGHT)
    if delivery_id is not None:
        query = query.where(messages.c.delivery_id == delivery_id)
    return int(conn.execute(query).scalar_one())


def sending_log(
    conn: Connection, delivery_id: int, after_id: int = 0, limit: int = 100
) -> list[RowMapping]:
    query = (
        select(messages)
        .where(messages.c.delivery_id == delivery_id, messages.c.id > after_id)
        .order_by(messages.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


# The states in which a message still waiting for its first hand-off will never leave, and
# what its line in the sending log says when no reason is given.
NOT_SENT_REASONS = {
    DeliveryState.STOPPED: "not sent: the delivery was stopped",
    DeliveryState.SKIPPED: "not sent: the occurrence was skipped",
    DeliveryState.ERROR: "not sent: the send could not go on",
    DeliveryState.FINISHED: "not sent: the validity period ended before it was handed over",
}


def mark_not_sent(
    conn: Connection, delivery_id: int, now: dt.datetime, reason: str | None = None
) -> int:
    """Messages waiting for their first hand-off in a delivery that sends no more never leave.

    Without a reason, the lines read as the delivery's earlier not-sent lines (a worker gives
    back what it held when the stop came: those read as the stop's), or as its state says.
    Once in one of these states a delivery never leaves them, so the state read here holds.
    """
    delivery = conn.execute(
        select(deliveries.c.state, deliveries.c.error_reason).where(deliveries.c.id == delivery_id)
    ).first()
    if delivery is None or delivery.state not in NOT_SENT_REASONS:
        return 0
    reason = reason or _not_sent_reason(conn, delivery_id) or _state_reason(delivery)
    result = conn.execute(
        update(messages)
        .where(
            messages.c.delivery_id == delivery_id,
            messages.c.status == MessageStatus.QUEUED,
            messages.c.send_state == SendState.WAITING,
        )
        .values(
            status=MessageStatus.NOT_SENT,
            send_state=SendState.DONE,
            smtp_response=reason,
            updated_at=now,
        )
    )
    count = int(result.rowcount)
    if count:
        move = Counter({(MessageStatus.QUEUED, MessageStatus.NOT_SENT): count})
        apply_status_moves(conn, {delivery_id: move}, now)
    return count


def _not_sent_reason(conn: Connection, delivery_id: int) -> str | None:
    # A recipient's opt-out is that line's own reason, not the delivery's.
    query = (
        select(messages.c.smtp_response)
        .where(
            messages.c.delivery_id == delivery_id,
            messages.c.status == MessageStatus.NOT_SENT,
            messages.c.smtp_response.not_in(list(NotSentReason)),
        )
        .limit(1)
    )
    return conn.execute(query).scalar()


def _state_reason(delivery: Any) -> str:
    reason = NOT_SENT_REASONS[DeliveryState(delivery.state)]
    return f"{reason} ({delivery.error_reason})" if delivery.error_reason else reason


def only_retries_left(conn: Connection, delivery_ids: Collection[int]) -> set[int]:
    """The sending or sent deliveries among these with retries to send and no first hand-off."""
    first_hand_off = exists().where(messages.c.delivery_id == deliveries.c.id, _first_hand_off_due)
    retry = exists().where(
        messages.c.delivery_id == deliveries.c.id,
        messages.c.send_state != SendState.DONE,
        ~_first_hand_off_due,
    )
    query = select(deliveries.c.id).where(
        deliveries.c.id.in_(delivery_ids),
        deliveries.c.state.in_((DeliveryState.SENDING, DeliveryState.SENT)),
        ~first_hand_off,
        retry,
    )
    return {int(i) for i in conn.execute(query).scalars()}


def relayed_by_worker(conn: Connection, delivery_id: int) -> dict[str, int]:
    """How many of a delivery's messages each worker handed over."""
    query = (
        select(messages.c.relayed_by, func.count())
        .where(messages.c.delivery_id == delivery_id, messages.c.relayed_by.is_not(None))
        .group_by(messages.c.relayed_by)
    )
    return {str(worker): int(n) for worker, n in conn.execute(query)}
