"""Opt-outs at the claim: a message whose recipient opted out after preparation never leaves."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, false, func, insert, or_, select, update

from mailcast.domain import (
    EXCLUDED_ADDRESS_STATUSES,
    EventKind,
    MessageStatus,
    NotSentReason,
    SendState,
    send_time_opt_out,
)
from mailcast.store.counters import apply_status_moves
from mailcast.store.tables import address_states, events, messages, profiles


@dataclass(frozen=True, slots=True)
class _OptedOut:
    id: int
    delivery_id: int
    profile_id: int | None
    status: MessageStatus
    reason: NotSentReason


def drop_opted_out(conn: Connection, ids: list[int], now: dt.datetime) -> list[int]:
    """The messages among `ids` that may still be sent; the others become not_sent now.

    One query reads the recipients' subscription and address state for the whole batch; the
    messages left out are written at once: their log lines, their events and the counters.
    """
    opted_out = _opted_out(conn, ids)
    if opted_out:
        _write_not_sent(conn, opted_out, now)
    dropped = {m.id for m in opted_out}
    return [i for i in ids if i not in dropped]


# The address_states key is the profile's email_key; a message whose profile was deleted
# has only its address, case-folded here as well as SQL can.
_KEY = func.coalesce(profiles.c.email_key, func.lower(messages.c.address))
_OPTED_OUT = (
    select(
        messages.c.id,
        messages.c.delivery_id,
        messages.c.profile_id,
        messages.c.status,
        profiles.c.email_subscribed,
        address_states.c.status.label("address_status"),
    )
    .select_from(
        messages.outerjoin(profiles, profiles.c.id == messages.c.profile_id).outerjoin(
            address_states, address_states.c.address == _KEY
        )
    )
    .where(
        messages.c.id.in_(bindparam("ids", expanding=True)),
        or_(
            profiles.c.email_subscribed == false(),
            address_states.c.status.in_(list(EXCLUDED_ADDRESS_STATUSES)),
        ),
    )
)


def _opted_out(conn: Connection, ids: list[int]) -> list[_OptedOut]:
    found = []
    for row in conn.execute(_OPTED_OUT, {"ids": ids}):
        subscribed = row.email_subscribed is None or bool(row.email_subscribed)
        reason = send_time_opt_out(subscribed, row.address_status)
        if reason is not None:
            status = MessageStatus(row.status)
            found.append(_OptedOut(row.id, row.delivery_id, row.profile_id, status, reason))
    return found


def _write_not_sent(conn: Connection, opted_out: list[_OptedOut], now: dt.datetime) -> None:
    conn.execute(
        update(messages)
        .where(messages.c.id == bindparam("m_id"))
        .values(
            status=MessageStatus.NOT_SENT,
            send_state=SendState.DONE,
            next_attempt_at=None,
            smtp_response=bindparam("m_reason"),
            claimed_by=None,
            lease_until=None,
            updated_at=now,
        ),
        [{"m_id": m.id, "m_reason": m.reason.value} for m in opted_out],
    )
    conn.execute(insert(events), [_event(m, now) for m in opted_out])
    moves: dict[int, Counter[tuple[MessageStatus, MessageStatus]]] = {}
    for m in opted_out:
        moves.setdefault(m.delivery_id, Counter())[(m.status, MessageStatus.NOT_SENT)] += 1
    apply_status_moves(conn, moves, now)


def _event(m: _OptedOut, now: dt.datetime) -> dict[str, Any]:
    return {
        "delivery_id": m.delivery_id,
        "message_id": m.id,
        "profile_id": m.profile_id,
        "kind": EventKind.NOT_SENT,
        "at": now,
        "failure_type": None,
        "failure_reason": None,
        "detail": {"reason": m.reason.value},
    }
