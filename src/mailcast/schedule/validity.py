"""The end of a delivery's validity period: what has not succeeded fails, the delivery finishes.

Per the mode's table (Outcome.RETRIES_FAILED): in legacy mode a message sent with a soft
failure nothing resolved becomes failed; in both modes a queued retry is given up. A send
still going or paused when its validity ends finishes too: its messages never handed over
become not sent (store/messages.py says why in their log line).
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
from mailcast.store import messages as message_store


@dataclass(frozen=True)
class ValidityEnd:
    finished: int = 0  # deliveries that became finished
    failed: int = 0  # messages whose retries failed
    not_sent: int = 0  # messages never handed over before the end


def end_validity(ctx: Context) -> ValidityEnd:
    """Finish every sending, paused, sent or stopped delivery whose validity period is over."""
    now = ctx.clock.now()
    with ctx.db.read() as conn:
        due = store.deliveries_past_validity(conn, now)
    finished = failed = not_sent = 0
    for delivery_id in due:
        with ctx.db.write() as conn:
            ended = _end(conn, delivery_id, now)
        if ended is not None:
            finished += 1
            failed += ended.failed
            not_sent += ended.not_sent
    return ValidityEnd(finished, failed, not_sent)


def _end(conn: Connection, delivery_id: int, now: dt.datetime) -> ValidityEnd | None:
    """What ending this delivery did, or None when it cannot finish yet."""
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
    # Not failed: a message never handed over says nothing of its address, and it stays out
    # of the processed messages, so Delivered % and Bounces + errors % keep their meaning.
    not_sent = message_store.mark_not_sent(conn, delivery_id, now)
    return ValidityEnd(1, len(lines), not_sent)
