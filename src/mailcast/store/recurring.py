"""Named queries on recurring deliveries, their occurrences and the deliveries they created."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from mailcast.domain import DeliveryState, OccurrenceOutcome
from mailcast.store.deliveries import NotFound
from mailcast.store.tables import deliveries, occurrences, recurring_deliveries


def insert_recurring(conn: Connection, values: dict[str, Any], now: dt.datetime) -> int:
    row = {"active": True, "created_at": now, "updated_at": now} | values
    query = insert(recurring_deliveries).values(row).returning(recurring_deliveries.c.id)
    return int(conn.execute(query).scalar_one())


def get_recurring(conn: Connection, recurring_id: int, *, for_update: bool = False) -> RowMapping:
    query = select(recurring_deliveries).where(recurring_deliveries.c.id == recurring_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"no recurring delivery {recurring_id}")
    return row


def list_recurring(conn: Connection) -> list[RowMapping]:
    query = select(recurring_deliveries).order_by(recurring_deliveries.c.id)
    return list(conn.execute(query).mappings())


def update_recurring(conn: Connection, recurring_id: int, now: dt.datetime, **values: Any) -> None:
    conn.execute(
        update(recurring_deliveries)
        .where(recurring_deliveries.c.id == recurring_id)
        .values(updated_at=now, **values)
    )


def due_recurring(conn: Connection, now: dt.datetime) -> list[int]:
    """Active recurring deliveries with an occurrence due at `now` or earlier."""
    query = (
        select(recurring_deliveries.c.id)
        .where(
            recurring_deliveries.c.active.is_(True),
            recurring_deliveries.c.next_occurrence_at <= now,
        )
        .order_by(recurring_deliveries.c.next_occurrence_at)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def insert_occurrences(
    conn: Connection,
    recurring_id: int,
    due: list[tuple[dt.datetime, OccurrenceOutcome]],
    now: dt.datetime,
) -> None:
    """Record occurrences once: (recurring_id, due_at) is unique, a second insert fails."""
    rows = [
        {"recurring_id": recurring_id, "due_at": due_at, "outcome": outcome, "created_at": now}
        for due_at, outcome in due
    ]
    conn.execute(insert(occurrences), rows)


def set_occurrence(conn: Connection, recurring_id: int, due_at: dt.datetime, **values: Any) -> None:
    """Write what became of an occurrence: its outcome, detail and delivery, as given."""
    conn.execute(
        update(occurrences)
        .where(occurrences.c.recurring_id == recurring_id, occurrences.c.due_at == due_at)
        .values(**values)
    )


def occurrences_of(conn: Connection, recurring_id: int) -> list[RowMapping]:
    query = (
        select(occurrences)
        .where(occurrences.c.recurring_id == recurring_id)
        .order_by(occurrences.c.due_at)
    )
    return list(conn.execute(query).mappings())


def tag_child(conn: Connection, delivery_id: int, **values: Any) -> None:
    """Mark a delivery as a recurring delivery's child (recurring_id, occurrence or period)."""
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


def children_in(conn: Connection, recurring_id: int, state: DeliveryState) -> list[int]:
    query = (
        select(deliveries.c.id)
        .where(deliveries.c.recurring_id == recurring_id, deliveries.c.state == state)
        .order_by(deliveries.c.id)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def skip_child(conn: Connection, delivery_id: int, now: dt.datetime) -> bool:
    """An occurrence left unconfirmed becomes skipped, unless it was confirmed meanwhile."""
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.state == DeliveryState.PENDING_CONFIRMATION,
        )
        .values(state=DeliveryState.SKIPPED, updated_at=now)
    )
    if result.rowcount:
        conn.execute(
            update(occurrences)
            .where(occurrences.c.delivery_id == delivery_id)
            .values(outcome=OccurrenceOutcome.SKIPPED, detail="not confirmed before the next one")
        )
    return bool(result.rowcount)


def period_delivery(conn: Connection, recurring_id: int, period: str) -> RowMapping | None:
    """The delivery a period's occurrences report into (a skipped one no longer counts)."""
    query = (
        select(deliveries)
        .where(
            deliveries.c.recurring_id == recurring_id,
            deliveries.c.aggregate_period == period,
            deliveries.c.state != DeliveryState.SKIPPED,
        )
        .order_by(deliveries.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).mappings().first()


def open_periods(conn: Connection) -> list[RowMapping]:
    """Period deliveries still sending, with their recurrence's zone and aggregation."""
    query = (
        select(
            deliveries.c.id,
            deliveries.c.aggregate_period,
            recurring_deliveries.c.timezone,
            recurring_deliveries.c.aggregation,
        )
        .join(recurring_deliveries, recurring_deliveries.c.id == deliveries.c.recurring_id)
        .where(
            deliveries.c.aggregate_period.is_not(None),
            deliveries.c.state == DeliveryState.SENDING,
        )
        .order_by(deliveries.c.id)
    )
    return list(conn.execute(query).mappings())
