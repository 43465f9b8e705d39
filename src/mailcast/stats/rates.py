"""The scheduled refresh of the open and click rates the Deployment block shows (ACS: hourly)."""

from __future__ import annotations

import datetime as dt

from mailcast.context import Context
from mailcast.store import stats as store


def refresh_due_rates(ctx: Context) -> int:
    """Refresh every delivery whose snapshot is `tracking.rates_refresh_minutes` old or more."""
    now = ctx.clock.now()
    due_before = now - dt.timedelta(minutes=ctx.settings.tracking.rates_refresh_minutes)
    with ctx.db.write() as conn:
        return store.refresh_shown(conn, now, refreshed_before=due_before)
