"""Compute stats: the live counters equal a recount from the logs; drift is reported and fixed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from stats_helpers import hit, log_by_address

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.compute import Drift, check_counters, compute_stats
from mailcast.stats.deployment import deployment
from mailcast.store.tables import delivery_counters
from mailcast.tracking.tokens import TokenKind
from mailcast.tracking.unsubscribe import unsubscribe

ADDRESSES = ["a@example.com", "b@example.com", "c@example.org", "unknown@example.org"]


def _sent_and_tracked(ctx: Context, scenario: Scenario, clock: ManualClock) -> int:
    """Three sent, one refused (5xx); a opens twice and clicks, b opens once, b unsubscribes."""
    scenario.audience(ADDRESSES)
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    log = log_by_address(ctx, delivery_id)
    clock.advance(dt.timedelta(minutes=10))
    hit(ctx, TokenKind.OPEN, log["a@example.com"]["id"])
    hit(ctx, TokenKind.OPEN, log["a@example.com"]["id"])
    hit(ctx, TokenKind.CLICK, log["a@example.com"]["id"])
    hit(ctx, TokenKind.OPEN, log["b@example.com"]["id"])
    hit(ctx, TokenKind.OPEN, log["c@example.org"]["id"], machine=True)  # a privacy proxy
    unsubscribe(ctx, log["b@example.com"]["id"], clock.now(), "one-click")
    return delivery_id


def test_live_counters_equal_the_recount_after_sends_opens_clicks_and_unsubscribes(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    delivery_id = _sent_and_tracked(ctx, scenario, clock)

    check = check_counters(ctx, delivery_id)

    assert check.drift == []
    figures = {k: v for k, v in check.recounted.items() if v}
    assert figures == {
        "to_deliver": 4,
        "sent": 3,
        "failed": 1,
        "unique_opens": 2,
        "total_opens": 3,
        "unique_clicks": 1,
        "total_clicks": 1,
        "unsubscribed": 1,
    }


def test_drift_is_reported_per_counter_then_corrected(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    delivery_id = _sent_and_tracked(ctx, scenario, clock)
    _corrupt(ctx, delivery_id, sent=7, unique_opens=0, total_clicks=5)

    first = compute_stats(ctx, delivery_id)

    assert first.drift == [
        Drift("sent", 7, 3),
        Drift("unique_opens", 0, 2),
        Drift("total_clicks", 5, 1),
    ]
    assert first.corrected
    assert compute_stats(ctx, delivery_id).drift == []
    assert check_counters(ctx, delivery_id).drift == []
    d = deployment(ctx, delivery_id)
    assert (d.counts.sent, d.counts.unique_opens) == (3, 2)


def test_compute_stats_refreshes_the_shown_rates_at_once(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    delivery_id = _sent_and_tracked(ctx, scenario, clock)
    before = deployment(ctx, delivery_id)
    assert (before.kpis.open_rate, before.rates_refreshed_at) == (0.0, None)
    clock.advance(dt.timedelta(minutes=5))

    compute_stats(ctx, delivery_id)

    after = deployment(ctx, delivery_id)
    assert after.rates_refreshed_at == clock.now()
    assert (after.kpis.open_rate, after.kpis.click_rate) == (66.67, 33.33)  # 2 and 1 of 3 sent


def _corrupt(ctx: Context, delivery_id: int, **values: int) -> None:
    """What a crash between two writes or a hand edit could leave behind."""
    with ctx.db.write() as conn:
        conn.execute(
            update(delivery_counters)
            .where(delivery_counters.c.delivery_id == delivery_id)
            .values(**values)
        )
