"""The dynamic report: exact counts, rates, an hourly series and breakdowns, from the logs."""

from __future__ import annotations

import datetime as dt

from stats_helpers import hit, log_by_address

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import EventKind, FailureReason, FailureType, MessageStatus
from mailcast.feedback.apply import apply_observations
from mailcast.feedback.observation import MessageRef, Observation, Seen
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.report import DeliveryReport, DomainRow, FailureRow, delivery_report
from mailcast.tracking.tokens import TokenKind
from mailcast.tracking.unsubscribe import unsubscribe

A, B, C = "a@example.com", "b@example.com", "c@example.org"
UNKNOWN, FULL = "unknown1@example.org", "full@example.net"


def _at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 1, 5, hour, minute, tzinfo=dt.UTC)


def _played(ctx: Context, scenario: Scenario, clock: ManualClock) -> DeliveryReport:
    """Sent at 09:00 (one 5xx, one 4xx); opens, clicks, a late bounce, an unsubscribe."""
    scenario.audience([A, B, C, UNKNOWN, FULL])
    delivery_id = scenario.sending()
    send_until_idle(ctx)  # 09:00
    log = log_by_address(ctx, delivery_id)
    clock.set(_at(9, 20))
    hit(ctx, TokenKind.OPEN, log[A]["id"])
    hit(ctx, TokenKind.OPEN, log[C]["id"], machine=True)  # a privacy proxy, not c
    clock.set(_at(10, 5))
    hit(ctx, TokenKind.OPEN, log[A]["id"])
    hit(ctx, TokenKind.CLICK, log[A]["id"])
    hit(ctx, TokenKind.OPEN, log[B]["id"])
    clock.set(_at(10, 30))
    apply_observations(ctx, [_hard_bounce(log[C], clock.now())])
    clock.set(_at(11, 10))
    unsubscribe(ctx, log[B]["id"], clock.now(), "one-click")
    return delivery_report(ctx, delivery_id)


def _hard_bounce(line: dict, at: dt.datetime) -> Observation:
    ref = MessageRef(message_id_header=line["message_id_header"], address=line["address"])
    return Observation(
        ref,
        Seen.FAILED,
        at,
        "dsn",
        f"test:{line['id']}",
        FailureType.HARD,
        FailureReason.USER_UNKNOWN,
    )


def test_counts_and_rates_are_exact(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    r = _played(ctx, scenario, clock)

    c = r.counts
    # The 4xx (full) waits for its retry, queued: not processed yet in legacy mode.
    assert (c.to_deliver, c.sent, c.failed, c.pending, c.queued) == (5, 2, 2, 0, 1)
    assert (r.kpis.processed, r.kpis.delivered_pct, r.kpis.bounces_pct) == (4, 50.0, 50.0)
    # Unique people who opened (a, b) and clicked (a) over the 2 messages with status sent.
    assert (c.unique_opens, r.total_opens, r.machine_opens) == (2, 3, 1)
    assert (c.unique_clicks, r.total_clicks, r.machine_clicks) == (1, 1, 0)
    assert (r.kpis.open_rate, r.kpis.click_rate) == (100.0, 50.0)
    assert r.unsubscribed == 1


def test_the_hourly_series_counts_events_in_the_hour_they_happened(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    r = _played(ctx, scenario, clock)

    series = [(h.start, h.counts, h.machine_opens) for h in r.hours]
    assert series == [
        (
            _at(9, 0),
            {
                EventKind.RELAYED: 3,
                EventKind.BOUNCED: 1,
                EventKind.DEFERRED: 1,
                EventKind.OPENED: 1,
            },
            1,
        ),
        (_at(10, 0), {EventKind.OPENED: 2, EventKind.CLICKED: 1, EventKind.BOUNCED: 1}, 0),
        (_at(11, 0), {EventKind.UNSUBSCRIBED: 1}, 0),
    ]
    assert [h.handed_off for h in r.hours] == [3, 0, 0]


def test_breakdowns_by_failure_reason_and_by_recipient_domain(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    r = _played(ctx, scenario, clock)

    # Over the failed messages: the 4xx waiting for its retry is not one yet (legacy mode).
    assert r.failures == [FailureRow(FailureType.HARD, FailureReason.USER_UNKNOWN, 2)]
    assert r.domains == [
        DomainRow("example.com", 2, {MessageStatus.SENT: 2}, opened=2, clicked=1),
        DomainRow("example.org", 2, {MessageStatus.FAILED: 2}, opened=0, clicked=0),
        DomainRow("example.net", 1, {MessageStatus.QUEUED: 1}, opened=0, clicked=0),
    ]


def test_the_json_form_carries_the_same_figures(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    data = _played(ctx, scenario, clock).to_json()

    assert data["counts"]["sent"] == 2 and data["kpis"]["open_rate"] == 100.0
    assert data["hours"][1] == {
        "start": "2026-01-05T10:00:00+00:00",
        "handed_off": 0,
        "opened": 2,
        "clicked": 1,
        "bounced": 1,
        "machine_opens": 0,
        "machine_clicks": 0,
    }
    assert data["failures"][0] == {
        "failure_type": "hard",
        "failure_reason": "user_unknown",
        "messages": 2,
    }
    assert data["domains"][0]["domain"] == "example.com"
