"""The scheduler job: run the recurring deliveries' due occurrences, close ended periods.

Missed occurrences (mailcast was down across several due times) run once: only the latest
one runs, the earlier ones are recorded `missed`, and the next occurrence is the first one
after now. Each occurrence is recorded once (unique per recurring delivery and due time) in
the same transaction that moves the recurring delivery to its next occurrence, so several
schedulers running this job at once run every occurrence once.

An occurrence acts as the recurring delivery's creator: it creates and prepares a delivery
(aggregation `none`, or the first occurrence of a period), or adds its recipients to the
period's delivery when that one is sending. A period's delivery is marked sent by this job,
once its period is over and nothing is left to hand over.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError

from mailcast.audience.target import TargetError
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryError, confirm_send, create_delivery
from mailcast.domain import Aggregation, DeliveryState, OccurrenceOutcome, TransitionError
from mailcast.prepare.preparation import PreparationResult, prepare_delivery
from mailcast.recurring.periods import period_end, period_of
from mailcast.recurring.recurrence import zone_named
from mailcast.recurring.service import RecurringError, draft_from, recurrence_of, validity_end
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store import recurring as store
from mailcast.store.deliveries import NotFound
from mailcast.users.service import PermissionDenied, User, get_user_by_id

log = logging.getLogger(__name__)

# What makes an occurrence fail with a reason a user can act on (the detail says it).
_REFUSALS = (PermissionDenied, DeliveryError, TargetError, TransitionError, NotFound)

_Result = tuple[OccurrenceOutcome, str | None]


@dataclass(frozen=True)
class _Due:
    recurring: RowMapping
    due_at: dt.datetime
    missed: int

    @property
    def recurring_id(self) -> int:
        return int(self.recurring["id"])


def run_due_occurrences(ctx: Context) -> dict[str, int]:
    """Run what came due; how many occurrences ran, were missed, skipped, failed; periods closed."""
    now = ctx.clock.now()
    done: Counter[str] = Counter()
    with ctx.db.read() as conn:
        due_ids = store.due_recurring(conn, now)
    for recurring_id in due_ids:
        due = _claim(ctx, recurring_id, now)
        if due is None:
            continue
        done["occurrences_missed"] += due.missed
        done["occurrences_skipped"] += _skip_unconfirmed(ctx, recurring_id, now)
        failed = _run(ctx, due) is OccurrenceOutcome.FAILED
        done["occurrences_failed" if failed else "occurrences_run"] += 1
    done["periods_closed"] = _close_ended_periods(ctx, now)
    keys = ("occurrences_run", "occurrences_missed", "occurrences_skipped", "occurrences_failed")
    return {key: done[key] for key in (*keys, "periods_closed")}


def _claim(ctx: Context, recurring_id: int, now: dt.datetime) -> _Due | None:
    """Record the due occurrences and move on to the next one; None if another took them."""
    try:
        with ctx.db.write() as conn:
            row = store.get_recurring(conn, recurring_id, for_update=True)
            first = row["next_occurrence_at"]
            if not row["active"] or first is None or first > now:
                return None
            recurrence = recurrence_of(row)
            *missed, latest = [first, *recurrence.between(first, now)]
            recorded = [(at, OccurrenceOutcome.MISSED) for at in missed]
            recorded.append((latest, OccurrenceOutcome.CREATED))
            store.insert_occurrences(conn, recurring_id, recorded, now)
            store.update_recurring(
                conn,
                recurring_id,
                now,
                next_occurrence_at=recurrence.next_after(now),
                last_occurrence_at=latest,
            )
    except IntegrityError:
        return None  # another scheduler recorded these occurrences first
    return _Due(row, latest, len(missed))


def _skip_unconfirmed(ctx: Context, recurring_id: int, now: dt.datetime) -> int:
    """A delivery still waiting for confirmation when the next occurrence comes is skipped."""
    skipped = 0
    with ctx.db.write() as conn:
        for delivery_id in store.children_in(
            conn, recurring_id, DeliveryState.PENDING_CONFIRMATION
        ):
            if store.skip_child(conn, delivery_id, now):
                reason = "not sent: the occurrence was not confirmed before the next one"
                message_store.mark_not_sent(conn, delivery_id, now, reason)
                skipped += 1
    return skipped


def _run(ctx: Context, due: _Due) -> OccurrenceOutcome:
    try:
        outcome, detail = _occur(ctx, due)
    except _REFUSALS as exc:
        outcome, detail = OccurrenceOutcome.FAILED, str(exc)
    except Exception as exc:
        log.exception("occurrence %s of recurring delivery %s", due.due_at, due.recurring_id)
        outcome, detail = OccurrenceOutcome.FAILED, f"unexpected error: {exc}"
    with ctx.db.write() as conn:
        store.set_occurrence(conn, due.recurring_id, due.due_at, outcome=outcome, detail=detail)
    return outcome


def _occur(ctx: Context, due: _Due) -> _Result:
    creator = _creator(ctx, due.recurring)
    aggregation = Aggregation(due.recurring["aggregation"])
    if aggregation is Aggregation.NONE:
        delivery_id = _create_child(ctx, creator, due, None)
        return _prepare_and_start(ctx, creator, due, delivery_id)
    zone = zone_named(due.recurring["timezone"])
    period = period_of(aggregation, due.due_at, zone)
    with ctx.db.read() as conn:
        current = store.period_delivery(conn, due.recurring_id, period)
    if current is None:
        delivery_id = _create_child(ctx, creator, due, period)
        return _prepare_and_start(ctx, creator, due, delivery_id)
    _link(ctx, due, current["id"])
    if current["state"] == DeliveryState.DRAFT:  # its first preparation found blocking errors
        return _prepare_and_start(ctx, creator, due, current["id"])
    if current["state"] == DeliveryState.SENDING:
        return _add_to_period(ctx, creator, current["id"])
    detail = f"the period's delivery {current['id']} is '{current['state']}': nothing was added"
    return OccurrenceOutcome.FAILED, detail


def _creator(ctx: Context, recurring: RowMapping) -> User:
    creator = get_user_by_id(ctx.db, recurring["created_by"]) if recurring["created_by"] else None
    if creator is None:
        raise RecurringError("the recurring delivery's creator no longer exists")
    return creator


def _create_child(ctx: Context, creator: User, due: _Due, period: str | None) -> int:
    """A delivery named after the occurrence's local time, or after its period."""
    recurring = due.recurring
    label = period or f"{due.due_at.astimezone(zone_named(recurring['timezone'])):%Y-%m-%d %H:%M}"
    draft = draft_from(recurring["template"], f"{recurring['name']} — {label}")
    delivery_id = create_delivery(ctx, creator, draft)
    with ctx.db.write() as conn:
        store.tag_child(
            conn,
            delivery_id,
            recurring_id=due.recurring_id,
            occurrence_at=due.due_at,
            aggregate_period=period,
        )
    _link(ctx, due, delivery_id)
    return delivery_id


def _link(ctx: Context, due: _Due, delivery_id: int) -> None:
    with ctx.db.write() as conn:
        store.set_occurrence(conn, due.recurring_id, due.due_at, delivery_id=delivery_id)


def _prepare_and_start(ctx: Context, creator: User, due: _Due, delivery_id: int) -> _Result:
    """Prepare; then wait for confirmation, or start at once as the creator confirming it."""
    result = prepare_delivery(ctx, creator, delivery_id)
    if result.blocked:
        return OccurrenceOutcome.FAILED, _blocking_findings(result)
    if result.state is not DeliveryState.READY:  # approval is required: it waits for it
        return OccurrenceOutcome.CREATED, f"waits for approval (state '{result.state}')"
    if due.recurring["confirm_before_send"]:
        with ctx.db.write() as conn:
            delivery_store.move_delivery(
                conn, delivery_id, DeliveryState.PENDING_CONFIRMATION, ctx.clock.now()
            )
        return OccurrenceOutcome.CREATED, None
    confirm_send(ctx, creator, delivery_id)
    with ctx.db.write() as conn:
        delivery = delivery_store.get_delivery(conn, delivery_id, for_update=True)
        if delivery["aggregate_period"] is not None:
            now = ctx.clock.now()
            ends = validity_end(delivery, due.recurring, now)
            delivery_store.update_delivery(conn, delivery_id, now, validity_ends_at=ends)
    return OccurrenceOutcome.CREATED, None


def _add_to_period(ctx: Context, creator: User, delivery_id: int) -> _Result:
    """The period's delivery keeps what it sent and queues this occurrence's recipients."""
    result = prepare_delivery(ctx, creator, delivery_id, append=True)
    if result.blocked:
        return OccurrenceOutcome.FAILED, _blocking_findings(result)
    return OccurrenceOutcome.AGGREGATED, None


def _blocking_findings(result: PreparationResult) -> str:
    errors = [f"{f.rule}: {f.message}" for f in result.findings if f.level == "error"]
    return "; ".join(errors)


def _close_ended_periods(ctx: Context, now: dt.datetime) -> int:
    """Mark sent the period deliveries whose period is over and whose messages all left."""
    closed = 0
    with ctx.db.read() as conn:
        periods = store.open_periods(conn)
    for row in periods:
        aggregation, zone = Aggregation(row["aggregation"]), zone_named(row["timezone"])
        if period_end(aggregation, row["aggregate_period"], zone) <= now:
            with ctx.db.write() as conn:
                closed += message_store.finish_sending(conn, row["id"], now, period_over=True)
    return closed
