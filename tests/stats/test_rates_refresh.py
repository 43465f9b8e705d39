"""The Deployment block's open and click rates: a snapshot the scheduler refreshes (ACS: hourly)."""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from stats_helpers import hit, log_by_address

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.console import deployment_table
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule import run_due_jobs
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.tracking.tokens import TokenKind

MINUTE = dt.timedelta(minutes=1)


def _rates(ctx: Context, delivery_id: int) -> tuple[float, float]:
    k = deployment(ctx, delivery_id).kpis
    return k.open_rate, k.click_rate


def _rendered(ctx: Context, delivery_id: int) -> str:
    console = Console(width=200, record=True)
    console.print(deployment_table(deployment(ctx, delivery_id)))
    return console.export_text()


def test_rates_are_refreshed_when_the_snapshot_is_an_hour_old_not_before(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    scenario.audience(["a@example.com", "b@example.com", "c@example.com", "d@example.com"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    assert run_due_jobs(ctx)["rates_refreshed"] == 1  # never refreshed: due at once
    refreshed = clock.now()
    log = log_by_address(ctx, delivery_id)
    hit(ctx, TokenKind.OPEN, log["a@example.com"]["id"])
    hit(ctx, TokenKind.OPEN, log["b@example.com"]["id"])
    hit(ctx, TokenKind.CLICK, log["a@example.com"]["id"])
    assert deployment(ctx, delivery_id).counts.unique_opens == 2  # live, exact

    clock.advance(59 * MINUTE)
    assert run_due_jobs(ctx)["rates_refreshed"] == 0
    assert _rates(ctx, delivery_id) == (0.0, 0.0)
    assert deployment(ctx, delivery_id).rates_refreshed_at == refreshed

    clock.advance(MINUTE)
    assert run_due_jobs(ctx)["rates_refreshed"] == 1
    assert _rates(ctx, delivery_id) == (50.0, 25.0)
    assert deployment(ctx, delivery_id).rates_refreshed_at == refreshed + 60 * MINUTE


def test_the_refresh_period_is_a_setting(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    ctx.settings.tracking.rates_refresh_minutes = 15
    scenario.audience(["a@example.com"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    run_due_jobs(ctx)
    hit(ctx, TokenKind.OPEN, log_by_address(ctx, delivery_id)["a@example.com"]["id"])

    clock.advance(14 * MINUTE)
    run_due_jobs(ctx)
    assert _rates(ctx, delivery_id)[0] == 0.0
    clock.advance(MINUTE)
    run_due_jobs(ctx)
    assert _rates(ctx, delivery_id)[0] == 100.0


def test_the_deployment_table_says_when_the_rates_were_refreshed(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    assert "Open rate" in _rendered(ctx, delivery_id)
    assert "not refreshed yet" in _rendered(ctx, delivery_id)
    hit(ctx, TokenKind.OPEN, log_by_address(ctx, delivery_id)["a@example.com"]["id"])

    clock.set(dt.datetime(2026, 1, 5, 10, 7, tzinfo=dt.UTC))
    run_due_jobs(ctx)

    text = _rendered(ctx, delivery_id)
    open_row = next(line for line in text.splitlines() if "Open rate" in line)
    assert "50.00 %" in open_row and "refreshed at 10:07" in open_row
