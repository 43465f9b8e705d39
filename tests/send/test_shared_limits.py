"""The send rate and quotas hold for all workers together: real worker processes drawing
from the same database, into a relay on loopback that records when each message came."""

from __future__ import annotations

import bisect
import datetime as dt
import json

import pytest
from scripted_relay import ScriptedRelay
from worker_helpers import finish, sending_log, start_mailcast

from conftest import Scenario
from mailcast.clock import SystemClock
from mailcast.context import Context
from mailcast.domain import MessageStatus
from mailcast.send.engine import send_until_idle
from mailcast.send.shared_limits import Limit

RATE = 100.0
RECIPIENTS = [f"w{n}@example.com" for n in range(400)]


def test_the_rate_windows_hold_a_whole_number_of_messages() -> None:
    assert Limit.for_rate(100) == Limit("rate", 0.1, 10, 2)
    assert Limit.for_rate(15).cap / Limit.for_rate(15).period == pytest.approx(15)
    assert Limit.for_rate(0.5) == Limit("rate", 2.0, 1, 1)


@pytest.mark.timeout(120)
def test_three_workers_together_keep_to_the_rate(ctx: Context, scenario: Scenario) -> None:
    ctx.clock = SystemClock()  # the workers run on the system clock: so must the delivery
    scenario.audience(RECIPIENTS)
    delivery_id = scenario.sending()
    settings = {"rate_per_second": RATE, "concurrency": 4, "batch_size": 20}
    with ScriptedRelay({}) as relay:
        workers = [
            start_mailcast(ctx, relay.port, "worker", "--until-idle", **settings) for _ in range(3)
        ]
        for worker in workers:
            finish(worker)
    assert relay.accepted() == dict.fromkeys(RECIPIENTS, 1)
    times = sorted(t for _, t in relay.accepted_at)
    # Any stretch of time holds the rate, give or take one window's share at its ends.
    window = Limit.for_rate(RATE)
    assert (len(times) - 2 * window.cap) / (times[-1] - times[0]) <= RATE * 1.05
    log = sending_log(ctx, delivery_id)
    assert len({line["relayed_by"] for line in log.values()}) == 3  # all three took part


@pytest.mark.timeout(120)
def test_three_workers_keep_each_relays_rate_and_each_domain_groups(
    ctx: Context, scenario: Scenario
) -> None:
    ctx.clock = SystemClock()
    recipients = [f"g{n}@slow.example" for n in range(150)] + RECIPIENTS[:250]
    scenario.audience(recipients)
    scenario.sending()
    groups = {"slow": {"patterns": ["slow.example"], "rate_per_second": 30}}
    with ScriptedRelay({}) as a, ScriptedRelay({}) as b:
        relays = {"a": {"port": a.port, "rate_per_second": 60}, "b": {"port": b.port}}
        settings = {"relays": json.dumps(relays), "domain_groups": json.dumps(groups)}
        workers = [
            start_mailcast(ctx, a.port, "worker", "--until-idle", settings=settings, concurrency=4)
            for _ in range(3)
        ]
        for worker in workers:
            finish(worker)
    assert a.accepted() + b.accepted() == dict.fromkeys(recipients, 1)
    _assert_held(a.accepted_at, 60)
    _assert_held([(d, t) for d, t in a.accepted_at + b.accepted_at if d == "slow.example"], 30)


def _assert_held(accepted_at: list[tuple[str, float]], rate: float) -> None:
    """Within 5 % over the whole run and over any two seconds, give or take one window's
    share at the ends (a window's messages may reach the relay together with the next's)."""
    times = sorted(t for _, t in accepted_at)
    slack = Limit.for_rate(rate).cap
    assert (len(times) - 2 * slack) / (times[-1] - times[0]) <= rate * 1.05
    busiest = max(bisect.bisect_left(times, t + 2.0) - i for i, t in enumerate(times))
    assert busiest <= 2 * rate * 1.05 + slack


def test_a_daily_quota_holds_across_workers_and_the_rest_waits_for_the_next_day(
    ctx: Context, scenario: Scenario
) -> None:
    ctx.settings.send.daily_quota = 30
    scenario.audience(RECIPIENTS[:50])
    delivery_id = scenario.sending()
    with ScriptedRelay({}) as relay:
        ctx.settings.relay.port = relay.port
        send_until_idle(ctx)
        send_until_idle(ctx)  # another worker: the quota is the same
    assert len(relay.accepted()) == 30
    waiting = [
        line
        for line in sending_log(ctx, delivery_id).values()
        if line["status"] == MessageStatus.QUEUED
    ]
    assert len(waiting) == 20
    tomorrow = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow += dt.timedelta(days=1)
    now = ctx.clock.now()
    # Their retry waits the real time left until the quota's next day (UTC).
    for line in waiting:
        assert line["attempts"] == 0
        left = line["next_attempt_at"] - now
        assert abs(left - (tomorrow - dt.datetime.now(dt.UTC))) < dt.timedelta(minutes=5)
