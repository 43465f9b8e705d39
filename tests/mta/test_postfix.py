"""A real MTA round trip: mailcast relays through Postfix, Postfix's DSNs come back and count.

A private Postfix on loopback relays to a local "MX" (the sandbox MTA's fixed rules: refuses
`unknown*` with 550 5.1.1, defers `full*` with 452 4.2.2, accepts the rest) and sends its own
DSNs (relayed, delayed, failed) for the bounce domain to mailcast's bounce receiver. The
sending log and the Deployment KPIs must end as SPEC §4's tables say, in both modes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from private_postfix import PrivatePostfix, free_port, skip_reason

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import (
    DeliveryState,
    FailureReason,
    FailureType,
    FeedbackMode,
    MessageStatus,
    ReportOutcome,
)
from mailcast.feedback.parse import parse_report
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule import run_due_jobs
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import Deployment, deployment
from mailcast.store import inbound as inbound_store
from mailcast.store import messages as message_store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]

AUDIENCE = [
    "ann@example.com",
    "bo@example.com",
    "cy@example.net",
    "unknown.dee@example.org",  # the MX refuses: 550 5.1.1
    "full.eve@example.net",  # the MX defers: 452 4.2.2, until Postfix gives up
]
# Postfix's DSNs: three successes (relayed), one delay warning, two failures.
EXPECTED_ACTIONS = Counter({"relayed": 3, "delayed": 1, "failed": 2})
WAIT_SECONDS = 45.0


class Loop:
    """The receiving MX and the port mailcast's bounce receiver listens on, for the module."""

    def __init__(self, mx: SandboxMTA, postfix: PrivatePostfix, receiver_port: int) -> None:
        self.mx, self.postfix, self.receiver_port = mx, postfix, receiver_port


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    receiver_port = free_port()
    with SandboxMTA(port=0, keep_bodies=False) as mx:
        postfix = PrivatePostfix(
            relay=("127.0.0.1", mx.port),
            transports={"bounces.mailcast.localhost": ("127.0.0.1", receiver_port)},
        )
        with postfix:
            yield Loop(mx, postfix, receiver_port)


@pytest.fixture
def relayed_through(ctx: Context, loop: Loop) -> Loop:
    assert ctx.settings.bounce_domain == "bounces.mailcast.localhost"
    ctx.settings.relay.port = loop.postfix.port
    return loop


def _log(ctx: Context, delivery_id: int) -> dict[str, dict]:
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=1000)
    return {row["address"]: dict(row) for row in rows}


def _wait(what: str, done: Callable[[], bool], postfix: PrivatePostfix) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {WAIT_SECONDS} s. Postfix's log:\n{postfix.log()}")
        time.sleep(0.1)


def _dsn_actions(ctx: Context) -> Counter[str]:
    """The actions of every DSN the bounce receiver kept, all of them applied."""
    actions: Counter[str] = Counter()
    with ctx.db.read() as conn:
        for summary in inbound_store.list_reports(conn):
            assert summary["outcome"] == ReportOutcome.APPLIED, dict(summary)
            row = inbound_store.get_report(conn, summary["id"])
            assert row is not None
            report = parse_report(bytes(row["raw"]))
            actions.update(r.action for r in report.recipients)
    return actions


def _kpis(d: Deployment) -> tuple[int, float, float, int]:
    return d.kpis.processed, d.kpis.delivered_pct, d.kpis.bounces_pct, d.counts.pending


def _round_trip(ctx: Context, scenario: Scenario, loop: Loop, mode: FeedbackMode) -> int:
    """Hand the delivery to Postfix, then let its DSNs reach the bounce receiver."""
    scenario.audience(AUDIENCE)
    delivery_id = scenario.sending(feedback_mode=mode)
    # The receiver is still down: the KPIs of the hand-off alone, before any DSN.
    send_until_idle(ctx)
    at_hand_off = _kpis(deployment(ctx, delivery_id))
    expected = (5, 100.0, 0.0, 0) if mode is FeedbackMode.LEGACY else (5, 0.0, 0.0, 5)
    assert at_hand_off == expected
    with BounceReceiver(ctx, port=loop.receiver_port) as receiver:
        _wait("Postfix's six DSNs", lambda: receiver.stored >= 6, loop.postfix)
        _wait("Postfix's queue to empty", lambda: loop.postfix.queued() == 0, loop.postfix)
    assert _dsn_actions(ctx) == EXPECTED_ACTIONS
    return delivery_id


def _check_log_after_dsns(ctx: Context, delivery_id: int, mode: FeedbackMode) -> None:
    log = _log(ctx, delivery_id)
    for address in AUDIENCE[:3]:
        assert log[address]["status"] == MessageStatus.SENT, address
    hard = log["unknown.dee@example.org"]
    assert (hard["status"], hard["failure_type"]) == (MessageStatus.FAILED, FailureType.HARD)
    assert hard["failure_reason"] == FailureReason.USER_UNKNOWN
    soft = log["full.eve@example.net"]
    # Legacy: a soft bounce leaves the log 'sent'; EFS: pending → failed.
    soft_status = MessageStatus.SENT if mode is FeedbackMode.LEGACY else MessageStatus.FAILED
    assert (soft["status"], soft["failure_type"]) == (soft_status, FailureType.SOFT)
    assert soft["failure_reason"] == FailureReason.MAILBOX_FULL


def _end_validity(ctx: Context, clock: ManualClock, delivery_id: int) -> Deployment:
    clock.advance(ctx.settings.validity_period + dt.timedelta(minutes=1))
    run_due_jobs(ctx)
    return deployment(ctx, delivery_id)


def test_legacy_mode_through_postfix(
    ctx: Context, scenario: Scenario, clock: ManualClock, relayed_through: Loop
) -> None:
    delivery_id = _round_trip(ctx, scenario, relayed_through, FeedbackMode.LEGACY)

    _check_log_after_dsns(ctx, delivery_id, FeedbackMode.LEGACY)
    # The hard bounce took one point of five; the soft one changed nothing.
    assert _kpis(deployment(ctx, delivery_id)) == (5, 80.0, 20.0, 0)

    final = _end_validity(ctx, clock, delivery_id)
    assert final.state is DeliveryState.FINISHED
    # Its retries never succeeded: sent → failed when the validity period ended.
    assert _log(ctx, delivery_id)["full.eve@example.net"]["status"] == MessageStatus.FAILED
    assert _kpis(final) == (5, 60.0, 40.0, 0)


def test_efs_mode_through_postfix(
    ctx: Context, scenario: Scenario, clock: ManualClock, relayed_through: Loop
) -> None:
    delivery_id = _round_trip(ctx, scenario, relayed_through, FeedbackMode.EFS)

    _check_log_after_dsns(ctx, delivery_id, FeedbackMode.EFS)
    # Success DSNs made three pending lines sent; both failures count, soft and hard.
    assert _kpis(deployment(ctx, delivery_id)) == (5, 60.0, 40.0, 0)

    final = _end_validity(ctx, clock, delivery_id)
    assert final.state is DeliveryState.FINISHED
    assert _kpis(final) == (5, 60.0, 40.0, 0)  # retries fail: stays failed
