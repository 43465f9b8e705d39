"""Named queries behind /healthz and /metrics: figures every process reads alike, from indexes.

No query reads the rows of the events or messages tables wholesale: counts come from their
indexes, delivery by delivery, and of the events only bounces are read one by one. The count
of relayed messages still grows with the messages ever sent (an index-only scan of their
events): a `relayed` column in delivery_counters would make it a sum.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from mailcast.domain import (
    DeliveryState,
    EventKind,
    FailureType,
    FeedbackMode,
    PauseCause,
    ReportOutcome,
    SendState,
)
from mailcast.store.tables import deliveries, events, inbound_reports, messages

# Hand-offs the relay accepted: the first one of a message, or a retry.
ACCEPTED_KINDS = (EventKind.RELAYED, EventKind.RETRIED)
# The events that report a bounce of each failure type: a hard bounce, a soft bounce or a
# deferral, an auto-reply or an ignored error.
BOUNCE_KINDS = {
    FailureType.HARD: (EventKind.BOUNCED,),
    FailureType.SOFT: (EventKind.BOUNCED, EventKind.DEFERRED),
    FailureType.IGNORED: (EventKind.IGNORED,),
}
# Deliveries whose waiting messages are in the send queue (a paused one keeps them queued).
QUEUED_STATES = (DeliveryState.SENDING, DeliveryState.SENT, DeliveryState.PAUSED)


def ping(conn: Connection) -> None:
    """A trivial query: raises when the database does not answer."""
    conn.execute(select(1)).scalar_one()


def relayed_by_mode(conn: Connection) -> dict[FeedbackMode, int]:
    """Hand-offs the relay accepted, by the feedback mode of their delivery.

    Counted per delivery in the (delivery, kind) index alone, without reading an event row.
    """
    accepted = select(func.count()).where(
        events.c.delivery_id == deliveries.c.id, events.c.kind.in_(ACCEPTED_KINDS)
    )
    relayed = dict.fromkeys(FeedbackMode, 0)
    for mode, n in conn.execute(select(deliveries.c.feedback_mode, accepted.scalar_subquery())):
        relayed[FeedbackMode(mode)] += n
    return relayed


def bounces_by_type(conn: Connection) -> dict[FailureType, int]:
    """Bounce events by failure type; only bounce events are read, found per delivery."""
    # Scalar subqueries per delivery rather than a join: given a join, PostgreSQL's planner
    # may read the whole events table, which a scrape must not do.
    per_type = [
        select(func.count())
        .where(
            events.c.delivery_id == deliveries.c.id,
            events.c.kind.in_(kinds),
            events.c.failure_type == failure_type,
        )
        .scalar_subquery()
        for failure_type, kinds in BOUNCE_KINDS.items()
    ]
    bounces = dict.fromkeys(BOUNCE_KINDS, 0)
    for counts in conn.execute(select(*per_type).select_from(deliveries)):
        for failure_type, n in zip(BOUNCE_KINDS, counts, strict=True):
            bounces[failure_type] += n
    return bounces


def queue_depth(conn: Connection) -> dict[SendState, int]:
    """Messages waiting for a hand-off (due now or at a later retry), and those in flight."""
    queued_deliveries = select(deliveries.c.id).where(deliveries.c.state.in_(QUEUED_STATES))
    waiting = select(func.count()).where(
        messages.c.send_state == SendState.WAITING,
        messages.c.delivery_id.in_(queued_deliveries),
    )
    in_flight = select(func.count()).where(messages.c.send_state == SendState.IN_FLIGHT)
    return {
        SendState.WAITING: int(conn.execute(waiting).scalar_one()),
        SendState.IN_FLIGHT: int(conn.execute(in_flight).scalar_one()),
    }


def deliveries_by_state(conn: Connection) -> dict[DeliveryState, int]:
    query = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
    found = {DeliveryState(state): int(n) for state, n in conn.execute(query)}
    return {state: found.get(state, 0) for state in DeliveryState}


def paused_by_cause(conn: Connection) -> dict[PauseCause, int]:
    """Paused deliveries by who paused them: an operator, or relay faults."""
    query = (
        select(deliveries.c.paused_by, func.count())
        .where(deliveries.c.state == DeliveryState.PAUSED, deliveries.c.paused_by.is_not(None))
        .group_by(deliveries.c.paused_by)
    )
    found = {PauseCause(cause): int(n) for cause, n in conn.execute(query)}
    return {cause: found.get(cause, 0) for cause in PauseCause}


def reports_by_outcome(conn: Connection) -> dict[ReportOutcome, int]:
    """What became of the messages the bounce receiver stored."""
    query = select(inbound_reports.c.outcome, func.count()).group_by(inbound_reports.c.outcome)
    found = {ReportOutcome(outcome): int(n) for outcome, n in conn.execute(query)}
    return {outcome: found.get(outcome, 0) for outcome in ReportOutcome}
