"""Helpers of the recurring-delivery tests: a template as users write one, reading the results."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mailcast.audience.target import Target
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryDraft
from mailcast.domain import Aggregation, OccurrenceOutcome
from mailcast.recurring.service import RecurringSpec, create_recurring, occurrences_of
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store.tables import deliveries
from mailcast.users.service import User

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone)


def template(**fields: Any) -> DeliveryDraft:
    values: dict[str, Any] = {
        "name": "Morning news",
        "subject": "Hello {{ first_name }}",
        "from_addr": "News <news@example.com>",
        "target": Target(("news",)),
        "html": '<p>Hi {{ first_name }} <a href="https://example.com/x">x</a> '
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
        "text": "Hi {{ first_name }}, unsubscribe: {{ unsubscribe_url }}",
    } | fields
    return DeliveryDraft(**values)


def spec(
    recurrence: str = "0 9 * * *",
    timezone: str = "Europe/Paris",
    aggregation: Aggregation = Aggregation.NONE,
    confirm: bool = True,
    **fields: Any,
) -> RecurringSpec:
    return RecurringSpec(template(**fields), recurrence, timezone, aggregation, confirm)


def new_recurring(ctx: Context, user: User, **kwargs: Any) -> int:
    return create_recurring(ctx, user, spec(**kwargs))


def outcomes(ctx: Context, recurring_id: int) -> list[tuple[dt.datetime, OccurrenceOutcome]]:
    return [(o.due_at, o.outcome) for o in occurrences_of(ctx, recurring_id)]


def children(ctx: Context, recurring_id: int) -> list[dict[str, Any]]:
    """The deliveries a recurring delivery created, oldest first."""
    query = select(deliveries).where(deliveries.c.recurring_id == recurring_id)
    with ctx.db.read() as conn:
        return [dict(row) for row in conn.execute(query.order_by(deliveries.c.id)).mappings()]


def delivery(ctx: Context, delivery_id: int) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return dict(delivery_store.get_delivery(conn, delivery_id))


def log_statuses(ctx: Context, delivery_id: int) -> dict[str, str]:
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=10_000)
    return {row["address"]: row["status"] for row in rows}
