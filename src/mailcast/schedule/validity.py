"""The end of a delivery's validity period: what has not succeeded fails, the delivery finishes.

Per the mode's table (Outcome.RETRIES_FAILED): in legacy mode a message sent with a soft
failure nothing resolved becomes failed; in both modes a queued retry is given up.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection

from mailcast.context import Context
from mailcast.domain import MessageStatus
from mailcast.feedback.effects import Line, retries_failed
from mailcast.store import feedback as store


@dataclass(frozen=True)
class ValidityEnd:
    finished: int = 0  # deliveries that became finished
    failed: int = 0  # messages whose retries failed


def end_validity(ctx: Context) -> ValidityEnd:
    """Finish every sent or stopped delivery whose validity period is over."""
    now = ctx.clock.now()
    with ctx.db.read() as conn:
        due = store.deliveries_past_validity(conn, now)
    finished = failed = 0
    for delivery_id in due:
        with ctx.db.write() as conn:
            ended = _end(conn, delivery_id, now)
        if ended is not None:
            finished, failed = finished + 1, failed + ended
    return ValidityEnd(finished, failed)


def _end(conn: Connection, delivery_id: int, now: dt.datetime) -> int | None:
    """The messages failed, or None when the delivery cannot finish yet."""
    locked = store.lock_delivery(conn, delivery_id)
    if locked is None or locked[0] not in store.ENDING_STATES:
        return None  # finished meanwhile by another scheduler
    # A message on the wire is recorded by its worker first; the next tick finishes.
    if store.has_messages_in_flight(conn, delivery_id):
        return None
    lines = [Line.of(target) for target in store.unresolved_messages(conn, delivery_id)]
    new_events = [retries_failed(line, now) for line in lines]
    moves: dict[int, Counter[tuple[MessageStatus, MessageStatus]]] = {delivery_id: Counter()}
    for line in lines:
        moves[delivery_id][(line.original_status, line.status)] += 1
    rows = [line.row() for line in lines if line.changed]
    store.record_feedback(conn, rows, new_events, moves, now)
    store.finish_delivery(conn, delivery_id, now)
    return len(lines)
