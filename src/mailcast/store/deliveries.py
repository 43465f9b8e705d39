"""Named queries on deliveries: rows, guarded state changes and the exclusion log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from mailcast.domain import DeliveryState, ExclusionReason, PauseCause, check_transition
from mailcast.store.counters import set_prepared_counts
from mailcast.store.tables import deliveries, delivery_counters, exclusions, messages


class NotFound(LookupError):
    """No such row."""


def insert_delivery(conn: Connection, values: dict[str, Any], now: dt.datetime) -> int:
    row = {"state": DeliveryState.DRAFT, "version": 1, "created_at": now, "updated_at": now}
    delivery_id = conn.execute(
        insert(deliveries).values({**row, **values}).returning(deliveries.c.id)
    ).scalar_one()
    conn.execute(insert(delivery_counters).values(delivery_id=delivery_id, updated_at=now))
    return int(delivery_id)


def get_delivery(conn: Connection, delivery_id: int, *, for_update: bool = False) -> RowMapping:
    query = select(deliveries).where(deliveries.c.id == delivery_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"no delivery {delivery_id}")
    return row


def list_deliveries(conn: Connection, limit: int = 100) -> list[RowMapping]:
    query = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    return list(conn.execute(query).mappings())


def move_delivery(
    conn: Connection,
    delivery_id: int,
    target: DeliveryState,
    now: dt.datetime,
    **values: Any,
) -> RowMapping:
    """Change a delivery's state if its current state allows it (TransitionError if not)."""
    current = get_delivery(conn, delivery_id, for_update=True)
    check_transition(DeliveryState(current["state"]), target)
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(state=target, updated_at=now, **values)
    )
    return get_delivery(conn, delivery_id)


def back_to_draft(conn: Connection, delivery_id: int, now: dt.datetime, **values: Any) -> None:
    """Back to draft, its preparation and approval forgotten: both must be done again (ACS)."""
    move_delivery(
        conn,
        delivery_id,
        DeliveryState.DRAFT,
        now,
        prepared_version=None,
        approved_version=None,
        approved_by=None,
        **values,
    )
    clear_preparation(conn, delivery_id, now)


def delete_delivery(conn: Connection, delivery_id: int) -> None:
    """Delete the row; its messages, exclusions, events, counters and proofs go with it.

    Its copies stay, no longer saying what they were copied from.
    """
    conn.execute(
        update(deliveries)
        .where(deliveries.c.copied_from_id == delivery_id)
        .values(copied_from_id=None)
    )
    conn.execute(
        update(deliveries).where(deliveries.c.parent_id == delivery_id).values(parent_id=None)
    )
    conn.execute(deliveries.delete().where(deliveries.c.id == delivery_id))


def due_scheduled(conn: Connection, now: dt.datetime) -> list[RowMapping]:
    """Scheduled deliveries whose send date has come: id and validity_hours."""
    query = (
        select(deliveries.c.id, deliveries.c.validity_hours)
        .where(deliveries.c.state == DeliveryState.SCHEDULED, deliveries.c.send_at <= now)
        .order_by(deliveries.c.send_at, deliveries.c.id)
    )
    return list(conn.execute(query).mappings())


def start_scheduled(
    conn: Connection, delivery_id: int, now: dt.datetime, validity_ends_at: dt.datetime
) -> bool:
    """Start a scheduled delivery whose date has come; False if it was not scheduled any more.

    The guard is in the UPDATE itself: when several schedulers try, one starts it; a schedule
    cancelled meanwhile is left alone.
    """
    check_transition(DeliveryState.SCHEDULED, DeliveryState.SENDING)
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.state == DeliveryState.SCHEDULED,
            deliveries.c.send_at <= now,
        )
        .values(
            state=DeliveryState.SENDING,
            started_at=now,
            validity_ends_at=validity_ends_at,
            updated_at=now,
        )
    )
    return bool(result.rowcount)


def states_of(conn: Connection, delivery_ids: Collection[int]) -> dict[int, DeliveryState]:
    query = select(deliveries.c.id, deliveries.c.state).where(deliveries.c.id.in_(delivery_ids))
    return {int(i): DeliveryState(state) for i, state in conn.execute(query)}


def fail_sending(conn: Connection, delivery_id: int, reason: str, now: dt.datetime) -> bool:
    """Put a sending delivery in error, saying why; a delivery in any other state is left."""
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.state == DeliveryState.SENDING)
        .values(state=DeliveryState.ERROR, error_reason=reason, updated_at=now)
    )
    return bool(result.rowcount)


def pause_for_relay(conn: Connection, delivery_id: int, reason: str, now: dt.datetime) -> bool:
    """Pause a sending delivery because of relay faults, saying why; any other state is left."""
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.state == DeliveryState.SENDING)
        .values(
            state=DeliveryState.PAUSED,
            paused_by=PauseCause.RELAY,
            pause_reason=reason,
            updated_at=now,
        )
    )
    return bool(result.rowcount)


def paused_by_relay(conn: Connection) -> dict[int, list[str] | None]:
    """The deliveries relay faults paused, with the relays each names (None: all)."""
    query = select(deliveries.c.id, deliveries.c.relays).where(
        deliveries.c.state == DeliveryState.PAUSED, deliveries.c.paused_by == PauseCause.RELAY
    )
    return {int(row.id): row.relays for row in conn.execute(query)}


def resume_after_relay(conn: Connection, delivery_ids: Collection[int], now: dt.datetime) -> int:
    """The relay answers again: what relay faults paused sends again (an operator's pause stays)."""
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id.in_(delivery_ids),
            deliveries.c.state == DeliveryState.PAUSED,
            deliveries.c.paused_by == PauseCause.RELAY,
        )
        .values(state=DeliveryState.SENDING, paused_by=None, pause_reason=None, updated_at=now)
    )
    return int(result.rowcount)


def update_delivery(conn: Connection, delivery_id: int, now: dt.datetime, **values: Any) -> None:
    conn.execute(
        update(deliveries).where(deliveries.c.id == delivery_id).values(updated_at=now, **values)
    )


def deliveries_in(conn: Connection, states: tuple[DeliveryState, ...]) -> list[RowMapping]:
    query = select(deliveries).where(deliveries.c.state.in_(states)).order_by(deliveries.c.id)
    return list(conn.execute(query).mappings())


def insert_exclusions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(exclusions), rows)


def exclusion_counts(conn: Connection, delivery_id: int) -> dict[ExclusionReason, int]:
    query = (
        select(exclusions.c.reason, func.count())
        .where(exclusions.c.delivery_id == delivery_id)
        .group_by(exclusions.c.reason)
    )
    return {ExclusionReason(reason): int(n) for reason, n in conn.execute(query)}


def exclusion_log(conn: Connection, delivery_id: int, limit: int = 1000) -> list[RowMapping]:
    query = (
        select(exclusions)
        .where(exclusions.c.delivery_id == delivery_id)
        .order_by(exclusions.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def clear_preparation(conn: Connection, delivery_id: int, now: dt.datetime) -> None:
    """Forget the messages, exclusions and figures of an earlier preparation of this delivery."""
    conn.execute(exclusions.delete().where(exclusions.c.delivery_id == delivery_id))
    conn.execute(messages.delete().where(messages.c.delivery_id == delivery_id))
    set_prepared_counts(conn, delivery_id, to_deliver=0, excluded=0, now=now)


def deliveries_page(
    conn: Connection,
    states: tuple[DeliveryState, ...] = (),
    before: int | None = None,
    limit: int = 100,
) -> list[RowMapping]:
    """Deliveries newest first, in the given states (all when none), with ids below `before`."""
    query = select(deliveries)
    if states:
        query = query.where(deliveries.c.state.in_(states))
    if before is not None:
        query = query.where(deliveries.c.id < before)
    return list(conn.execute(query.order_by(deliveries.c.id.desc()).limit(limit)).mappings())
