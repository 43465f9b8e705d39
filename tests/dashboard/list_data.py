"""Deliveries for the list's tests: many drafts, a sent one with rates, an error, occurrences."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from conftest import Scenario
from mailcast.audience.target import Target
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryDraft
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.recurring.service import RecurringSpec, create_recurring
from mailcast.store.tables import deliveries, delivery_counters

DRAFTS = 30
ERROR = "the relay refused every message: 554 5.7.1 relay access denied"


def many_deliveries(ctx: Context, clock: ManualClock, scenario: Scenario) -> dict[str, int]:
    """Ids by name: "Draft 1".."Draft 30", "Spring sale" (sent), "Broken" (error)."""
    scenario.audience(["ann@example.com"])
    ids = {f"Draft {n}": scenario.delivery(name=f"Draft {n}") for n in range(1, DRAFTS + 1)}
    ids["Spring sale"] = scenario.delivery(name="Spring sale", subject="Flowers -20 %")
    ids["Broken"] = scenario.delivery(name="Broken")
    with ctx.db.write() as conn:
        conn.execute(
            update(deliveries).where(deliveries.c.id == ids["Spring sale"]).values(state="sent")
        )
        conn.execute(
            update(delivery_counters)
            .where(delivery_counters.c.delivery_id == ids["Spring sale"])
            .values(to_deliver=8, sent=8, unique_opens=4, unique_clicks=1)
        )
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == ids["Broken"])
            .values(state="error", error_reason=ERROR)
        )
    template = DeliveryDraft(
        name="Morning news",
        subject="Today's news",
        from_addr="News <news@example.com>",
        target=Target(("news",)),
        html='<p>Hi <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
        text="Hi, unsubscribe: {{ unsubscribe_url }}",
    )
    create_recurring(ctx, scenario.author, RecurringSpec(template, "0 9 * * *", "UTC"))
    for _ in range(3):
        clock.advance(dt.timedelta(days=1))
        run_due_occurrences(ctx)
    return ids
