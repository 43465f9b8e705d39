"""Retries and the validity period over 3.5 days of injected time, in both feedback modes.

A mailbox that keeps answering "mailbox full" with failed DSNs (bounced asynchronously, after
the MTA took the message) and one the relay keeps refusing with 452 (synchronously): both are
retried on the ACS schedule, and both fail when the validity period ends.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bounce_mail import dsn, hand_over, sent
from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import (
    DeliveryState,
    EventKind,
    FeedbackMode,
    MessageStatus,
    SendState,
)
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule import run_due_jobs
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import counters as counter_store
from mailcast.store import messages as message_store
from mailcast.store.tables import events, messages

HOUR = dt.timedelta(hours=1)
VALIDITY = dt.timedelta(hours=84)  # 3.5 days (ACS)
OK, BOX, FULL = "ok@example.com", "box@example.org", "full@example.net"
# Five retries the first day, an hour apart, then one a day (ACS); none past 84 h.
EXPECTED_RETRIES = [1, 2, 3, 4, 5, 24, 48, 72]
# (Delivered %, Bounces + errors %) while the retries go on, and once the validity is over.
# Legacy: soft failures, reported or at the hand-off, change nothing until the retries fail.
RATES = {
    FeedbackMode.LEGACY: ((100.0, 0.0), (33.33, 66.67)),
    FeedbackMode.EFS: ((33.33, 66.67), (33.33, 66.67)),
}


@pytest.fixture
def receiver(ctx: Context) -> Iterator[BounceReceiver]:
    with BounceReceiver(ctx, port=0) as server:
        yield server


def _line(ctx: Context, delivery_id: int, address: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        log = message_store.sending_log(conn, delivery_id, limit=100)
    return dict(next(r for r in log if r["address"] == address))


def _rates(ctx: Context, delivery_id: int) -> tuple[float, float]:
    k = deployment(ctx, delivery_id).kpis
    return k.delivered_pct, k.bounces_pct


def _kinds(ctx: Context, message_id: int) -> list[str]:
    query = select(events.c.kind).where(events.c.message_id == message_id).order_by(events.c.id)
    with ctx.db.read() as conn:
        return [str(k) for k in conn.execute(query).scalars()]


def _mailbox_full(ctx: Context, receiver: BounceReceiver, delivery_id: int) -> None:
    msg = sent(ctx, delivery_id)[BOX]
    bounce = dsn(msg, status="4.2.2", diagnostic="552 4.2.2 Mailbox full: quota exceeded")
    hand_over(receiver, bounce, [msg.return_path])


@pytest.mark.parametrize("mode", [FeedbackMode.LEGACY, FeedbackMode.EFS], ids=["legacy", "efs"])
def test_soft_failures_are_retried_on_the_acs_schedule_until_the_validity_ends(
    ctx: Context,
    scenario: Scenario,
    mta: SandboxMTA,
    receiver: BounceReceiver,
    clock: ManualClock,
    mode: FeedbackMode,
) -> None:
    start = clock.now()
    scenario.audience([OK, BOX, FULL])
    delivery_id = scenario.sending(feedback_mode=mode)
    send_until_idle(ctx)
    msgs = sent(ctx, delivery_id)
    if mode is FeedbackMode.EFS:
        assert _rates(ctx, delivery_id) == (0.0, 33.33)  # relayed: pending; 452: failed
        ok = msgs[OK]
        hand_over(receiver, dsn(ok, action="relayed", status="2.0.0"), [ok.return_path])
    _mailbox_full(ctx, receiver, delivery_id)
    during, after = RATES[mode]
    assert _rates(ctx, delivery_id) == during

    hand_offs = []
    while (due := _line(ctx, delivery_id, BOX)["next_attempt_at"]) is not None:
        assert _line(ctx, delivery_id, FULL)["next_attempt_at"] == due  # one schedule
        assert run_due_jobs(ctx)["deliveries_finished"] == 0
        clock.set(due)
        send_until_idle(ctx)
        hand_offs.append(clock.now())
        assert mta.recipients_counter()[BOX] == 1 + len(hand_offs)
        assert _rates(ctx, delivery_id) == during
        _mailbox_full(ctx, receiver, delivery_id)
        assert _rates(ctx, delivery_id) == during

    assert [(t - start) / HOUR for t in hand_offs] == EXPECTED_RETRIES
    first_day = [t for t in hand_offs if t - start < dt.timedelta(days=1)]
    assert len(first_day) <= 5
    assert all(b - a >= HOUR for a, b in itertools.pairwise(hand_offs))
    assert len(mta.refusals()) == 1 + len(EXPECTED_RETRIES)  # FULL, refused each time
    assert mta.recipients_counter()[OK] == 1

    clock.set(start + VALIDITY - dt.timedelta(seconds=1))
    assert run_due_jobs(ctx)["deliveries_finished"] == 0
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT
    assert _rates(ctx, delivery_id) == during

    clock.set(start + VALIDITY)
    done = run_due_jobs(ctx)

    assert (done["deliveries_finished"], done["retries_failed"]) == (1, 2)
    assert deployment(ctx, delivery_id).state is DeliveryState.FINISHED
    assert _rates(ctx, delivery_id) == after
    for address in (BOX, FULL):
        line = _line(ctx, delivery_id, address)
        assert (line["status"], line["send_state"]) == (MessageStatus.FAILED, SendState.DONE)
        assert _kinds(ctx, line["id"])[-1] == EventKind.FAILED
    assert _line(ctx, delivery_id, OK)["status"] == MessageStatus.SENT
    assert run_due_jobs(ctx)["deliveries_finished"] == 0  # once only
    with ctx.db.read() as conn:
        live = counter_store.read_counts(conn, delivery_id)
        recount = counter_store.recount_statuses(conn, delivery_id)
    assert (live.sent, live.failed, live.pending) == (
        recount[MessageStatus.SENT],
        recount[MessageStatus.FAILED],
        recount[MessageStatus.PENDING],
    )


def test_a_delivery_finishes_only_once_no_message_of_it_is_on_the_wire(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    scenario.audience([OK, FULL])
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    clock.advance(HOUR)
    with ctx.db.write() as conn:  # a worker took the retry and has not recorded it yet
        [claimed] = message_store.claim_batch(
            conn, delivery_id, "w1", clock.now(), clock.now() + VALIDITY, 10
        )
    clock.advance(VALIDITY)

    assert run_due_jobs(ctx)["deliveries_finished"] == 0
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT

    with ctx.db.write() as conn:
        message_store.release_claims(conn, "w1", [claimed.id], clock.now())
    assert run_due_jobs(ctx)["deliveries_finished"] == 1
    with ctx.db.read() as conn:
        state = conn.execute(
            select(messages.c.send_state).where(messages.c.id == claimed.id)
        ).scalar_one()
    assert state == SendState.DONE
    assert deployment(ctx, delivery_id).state is DeliveryState.FINISHED
