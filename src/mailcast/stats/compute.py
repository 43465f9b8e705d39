"""Compute stats (ACS): recount every live counter from the logs, report drift, correct it.

The live counters are moved batch by batch as messages are sent, feedback is applied and
people open, click and unsubscribe; they should never drift. This is the check that they did
not, and the repair when they did (a crash between two writes, a bug, a hand edit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailcast.context import Context
from mailcast.store import deliveries as delivery_store
from mailcast.store import stats as store


@dataclass(frozen=True)
class Drift:
    counter: str
    live: int
    recounted: int

    @property
    def difference(self) -> int:
        return self.live - self.recounted


@dataclass(frozen=True)
class StatsCheck:
    delivery_id: int
    recounted: dict[str, int]
    drift: list[Drift]
    corrected: bool
    rates_refreshed_at: dt.datetime | None


def check_counters(ctx: Context, delivery_id: int) -> StatsCheck:
    """The drift between the live counters and a recount, changing nothing."""
    with ctx.db.read() as conn:
        delivery_store.get_delivery(conn, delivery_id)  # NotFound for an unknown delivery
        live = store.live_counters(conn, delivery_id)
        recounted = store.recount(conn, delivery_id, exclude_machine=_excluding(ctx))
        _, _, refreshed_at = store.shown_rates(conn, delivery_id)
    return StatsCheck(delivery_id, recounted, _drift(live, recounted), False, refreshed_at)


def compute_stats(ctx: Context, delivery_id: int) -> StatsCheck:
    """Recount, report the drift found, correct it and refresh the shown rates, at once."""
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        delivery_store.get_delivery(conn, delivery_id)
        # The counters row stays locked until the end: no batch moves it under the recount.
        live = store.live_counters(conn, delivery_id, for_update=True)
        recounted = store.recount(conn, delivery_id, exclude_machine=_excluding(ctx))
        drift = _drift(live, recounted)
        store.set_counters(conn, delivery_id, {d.counter: d.recounted for d in drift}, now)
    return StatsCheck(delivery_id, recounted, drift, bool(drift), now)


def _drift(live: dict[str, int], recounted: dict[str, int]) -> list[Drift]:
    return [
        Drift(name, live[name], recounted[name])
        for name in store.COUNTERS
        if live[name] != recounted[name]
    ]


def _excluding(ctx: Context) -> bool:
    return ctx.settings.tracking.exclude_machine_events
