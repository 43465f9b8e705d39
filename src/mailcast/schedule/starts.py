"""Scheduled deliveries start sending when their date comes, from the database alone.

Nothing is kept in memory between ticks, so a schedule confirmed before a restart starts
after it; the start is a guarded UPDATE, so several schedulers start a delivery once.
"""

from __future__ import annotations

import datetime as dt

from mailcast.context import Context
from mailcast.store import deliveries as delivery_store


def start_due_deliveries(ctx: Context) -> int:
    """Start every scheduled delivery whose send date has come; how many this call started."""
    now = ctx.clock.now()
    with ctx.db.read() as conn:
        due = delivery_store.due_scheduled(conn, now)
    started = 0
    for row in due:
        # The validity period runs from the real start, late as it may be after a downtime.
        validity_ends_at = now + dt.timedelta(hours=row["validity_hours"])
        with ctx.db.write() as conn:
            started += delivery_store.start_scheduled(conn, row["id"], now, validity_ends_at)
    return started
