"""The whole loop on the injected clock: mailcast sends, the sandbox plays outcomes back as
DSNs, the bounce receiver applies them, and the sending log follows SPEC §4's tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bounce_mail import applied
from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.config import SandboxSettings
from mailcast.context import Context
from mailcast.domain import FailureType, FeedbackMode, MessageStatus
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.dsn import Notice
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import messages as message_store

S, P, F = MessageStatus.SENT, MessageStatus.PENDING, MessageStatus.FAILED
AUDIENCE = ["ann@example.com", "unknown.bo@example.org", "full.cy@example.net", "dee@slow.example"]


@pytest.fixture
def played(ctx: Context, clock: ManualClock) -> Iterator[SandboxMTA]:
    """Receiver and playing sandbox on loopback, the relay pointed at the sandbox."""
    ctx.settings.sandbox = SandboxSettings(
        async_bounces=True,
        spread=0.0,
        success_after_seconds=60,
        bounce_after_seconds=600,
        delay_after_seconds=1800,
        slow_delivery_seconds=3 * 3600,
        full_for_seconds=3600,
    )
    with BounceReceiver(ctx, port=0) as receiver:
        ctx.settings.sandbox.dsn_port = receiver.port
        with SandboxMTA.playing(ctx.settings, clock, port=0, autoplay=False) as mta:
            ctx.settings.relay.port = mta.port
            yield mta


def _at(ctx: Context, clock: ManualClock, mta: SandboxMTA, minutes: int) -> list[Notice]:
    """Move the clock to `minutes` after the hand-off; send what is due, play the due DSNs."""
    clock.set(START + dt.timedelta(minutes=minutes))
    send_until_idle(ctx)
    played = [sent.notice for sent in mta.play_due()]
    applied(ctx)
    return played


START = ManualClock().now()


def _statuses(ctx: Context, delivery_id: int) -> list[MessageStatus]:
    with ctx.db.read() as conn:
        rows = {r["address"]: r for r in message_store.sending_log(conn, delivery_id)}
    return [MessageStatus(rows[address]["status"]) for address in AUDIENCE]


def _pcts(ctx: Context, delivery_id: int) -> tuple[float, float]:
    kpis = deployment(ctx, delivery_id).kpis
    return kpis.delivered_pct, kpis.bounces_pct


def test_efs_mode_follows_every_reported_outcome(
    ctx: Context, scenario: Scenario, clock: ManualClock, played: SandboxMTA
) -> None:
    scenario.audience(AUDIENCE)
    delivery_id = scenario.sending(feedback_mode=FeedbackMode.EFS)

    assert _at(ctx, clock, played, 0) == []
    assert _statuses(ctx, delivery_id) == [P, P, P, P]
    assert _at(ctx, clock, played, 1) == [Notice.DELIVERED]
    assert _statuses(ctx, delivery_id) == [S, P, P, P]
    assert _at(ctx, clock, played, 10) == [Notice.FAILED, Notice.FAILED]
    assert _statuses(ctx, delivery_id) == [S, F, F, P]
    assert _at(ctx, clock, played, 30) == [Notice.DELAYED]
    assert _statuses(ctx, delivery_id) == [S, F, F, F]
    assert _pcts(ctx, delivery_id) == (25.0, 75.0)
    # The soft bounce is retried an hour later; the mailbox has room again.
    assert _at(ctx, clock, played, 70) == []
    assert played.recipients_counter()["full.cy@example.net"] == 2
    assert _at(ctx, clock, played, 71) == [Notice.DELIVERED]
    assert _at(ctx, clock, played, 180) == [Notice.DELIVERED]
    assert _statuses(ctx, delivery_id) == [S, F, S, S]
    assert _pcts(ctx, delivery_id) == (75.0, 25.0)
    with ctx.db.read() as conn:
        log = {r["address"]: r for r in message_store.sending_log(conn, delivery_id)}
    assert log["unknown.bo@example.org"]["failure_type"] == FailureType.HARD
    assert log["full.cy@example.net"]["failure_type"] is None  # the retry succeeded


def test_legacy_mode_counts_the_hand_off_and_hard_bounces_only(
    ctx: Context, scenario: Scenario, clock: ManualClock, played: SandboxMTA
) -> None:
    scenario.audience(AUDIENCE)
    delivery_id = scenario.sending(feedback_mode=FeedbackMode.LEGACY)

    _at(ctx, clock, played, 0)
    assert _statuses(ctx, delivery_id) == [S, S, S, S]
    assert _pcts(ctx, delivery_id) == (100.0, 0.0)
    _at(ctx, clock, played, 1)
    assert _at(ctx, clock, played, 10) == [Notice.FAILED, Notice.FAILED]
    assert _at(ctx, clock, played, 30) == [Notice.DELAYED]
    # Only the hard bounce moved a line; the soft one and the delay left theirs 'sent'.
    assert _statuses(ctx, delivery_id) == [S, F, S, S]
    assert _pcts(ctx, delivery_id) == (75.0, 25.0)
    _at(ctx, clock, played, 70)
    assert played.recipients_counter()["full.cy@example.net"] == 2  # retried, accepted
    _at(ctx, clock, played, 180)
    assert _statuses(ctx, delivery_id) == [S, F, S, S]
    assert _pcts(ctx, delivery_id) == (75.0, 25.0)
