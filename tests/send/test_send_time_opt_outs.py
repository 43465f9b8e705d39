"""Opt-outs win at send time: whoever unsubscribed, was denylisted or quarantined after
preparation is not relayed, at the first hand-off or at a retry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import stop_delivery
from mailcast.domain import (
    AddressStatus,
    DeliveryState,
    EventKind,
    FailureReason,
    FailureType,
    MessageStatus,
    NotSentReason,
    SendState,
)
from mailcast.feedback import quarantine
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule.starts import start_due_deliveries
from mailcast.send.engine import send_until_idle
from mailcast.stats.compute import check_counters
from mailcast.stats.deployment import deployment
from mailcast.store import addresses as address_store
from mailcast.store import messages as message_store
from mailcast.store import profiles as profile_store
from mailcast.store.tables import events
from mailcast.tracking.unsubscribe import unsubscribe
from mailcast.users.service import User


def _log(ctx: Context, delivery_id: int) -> dict[str, dict]:
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=10_000)
    return {row["address"]: dict(row) for row in rows}


def _not_sent_events(ctx: Context, delivery_id: int) -> dict[int, str]:
    query = select(events.c.message_id, events.c.detail).where(
        events.c.delivery_id == delivery_id, events.c.kind == EventKind.NOT_SENT
    )
    with ctx.db.read() as conn:
        return {row.message_id: row.detail["reason"] for row in conn.execute(query)}


def _not_sent_lines(log: dict[str, dict]) -> dict[str, tuple[str, str]]:
    return {
        address: (row["send_state"], row["smtp_response"])
        for address, row in log.items()
        if row["status"] == MessageStatus.NOT_SENT
    }


def test_opt_outs_after_preparation_never_reach_the_relay_when_the_scheduled_send_starts(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    # Target order is by address: the first claims hold only the recipients who opt out.
    scenario.audience(
        [
            "blocked@example.com",
            "bouncing@example.com",
            "gone@example.com",
            "keep@example.com",
            "vip@example.com",
        ]
    )
    with ctx.db.write() as conn:
        address_store.set_address_status(
            conn, "vip@example.com", AddressStatus.ALLOWLIST, clock.now()
        )
    last_week = scenario.sending(name="last week")
    send_until_idle(ctx)
    delivery_id = scenario.sending(send_at=clock.now() + dt.timedelta(days=1))
    assert deployment(ctx, delivery_id).state is DeliveryState.SCHEDULED

    # After preparation: one reader unsubscribes through last week's message, one complains
    # (denylist), one mailbox bounces hard (quarantine); the allowlisted one bounces too.
    gone_message = _log(ctx, last_week)["gone@example.com"]["id"]
    assert unsubscribe(ctx, gone_message, clock.now(), "page")
    with ctx.db.write() as conn:
        quarantine.note_complaint(conn, "blocked@example.com", clock.now())
        for address in ("bouncing@example.com", "vip@example.com"):
            quarantine.note_failure(
                conn, address, FailureType.HARD, FailureReason.USER_UNKNOWN, clock.now()
            )
    mta.reset()
    ctx.settings.send.batch_size = 2
    clock.advance(dt.timedelta(days=1))
    assert start_due_deliveries(ctx) == 1
    send_until_idle(ctx)

    assert sorted(mta.recipients_counter()) == ["keep@example.com", "vip@example.com"]
    assert mta.refusals() == []  # the others were never even named to the SMTP server
    log = _log(ctx, delivery_id)
    assert _not_sent_lines(log) == {
        "gone@example.com": (SendState.DONE, "not sent: unsubscribed after preparation"),
        "blocked@example.com": (SendState.DONE, "not sent: denylisted after preparation"),
        "bouncing@example.com": (SendState.DONE, "not sent: quarantined after preparation"),
    }
    assert _not_sent_events(ctx, delivery_id) == {
        log["gone@example.com"]["id"]: NotSentReason.UNSUBSCRIBED,
        log["blocked@example.com"]["id"]: NotSentReason.DENYLISTED,
        log["bouncing@example.com"]["id"]: NotSentReason.QUARANTINED,
    }
    shown = deployment(ctx, delivery_id)
    assert (shown.counts.to_deliver, shown.counts.not_sent, shown.counts.sent) == (5, 3, 2)
    assert (shown.kpis.processed, shown.kpis.delivered_pct, shown.progress) == (2, 100.0, 1.0)
    assert shown.state is DeliveryState.SENT
    assert check_counters(ctx, delivery_id).drift == []


def test_a_retry_whose_address_was_denylisted_meanwhile_ends_not_sent(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    scenario.audience(["ok@example.com", "full@example.com"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    waiting = _log(ctx, delivery_id)["full@example.com"]
    assert (waiting["status"], waiting["send_state"]) == (MessageStatus.QUEUED, SendState.WAITING)

    with ctx.db.write() as conn:
        quarantine.note_complaint(conn, "full@example.com", clock.now())
    mta.handler.rules = lambda address: None  # the mailbox has room again
    clock.advance(dt.timedelta(hours=1))
    send_until_idle(ctx)

    assert mta.recipients_counter()["full@example.com"] == 0
    retry = _log(ctx, delivery_id)["full@example.com"]
    assert (retry["status"], retry["send_state"], retry["next_attempt_at"]) == (
        MessageStatus.NOT_SENT,
        SendState.DONE,
        None,
    )
    assert retry["smtp_response"] == "not sent: denylisted after preparation"
    assert _not_sent_events(ctx, delivery_id) == {retry["id"]: NotSentReason.DENYLISTED}
    shown = deployment(ctx, delivery_id)
    assert (shown.counts.sent, shown.counts.failed, shown.counts.not_sent) == (1, 0, 1)
    assert not shown.only_retries_left
    assert check_counters(ctx, delivery_id).drift == []


def test_messages_given_back_after_a_stop_read_as_the_stop_not_as_an_earlier_opt_out(
    ctx: Context, scenario: Scenario, sam: User, clock: ManualClock
) -> None:
    scenario.audience(["a-gone@example.com", "b@example.com", "c@example.com"])
    delivery_id = scenario.sending()
    gone = _log(ctx, delivery_id)["a-gone@example.com"]
    with ctx.db.write() as conn:
        profile_store.set_email_subscribed(conn, gone["profile_id"], False, clock.now())
    # A worker claims one message (the opt-out is written then), and a stop comes meanwhile.
    now, lease = clock.now(), clock.now() + dt.timedelta(minutes=1)
    with ctx.db.write() as conn:
        [held] = message_store.claim_batch(conn, delivery_id, "w1", now, lease, limit=1)
    stop_delivery(ctx, sam, delivery_id)
    with ctx.db.write() as conn:  # the worker gives back what it held, as the engine does
        message_store.release_claims(conn, "w1", [held.id], now)
        message_store.mark_not_sent(conn, delivery_id, now)

    assert held.address == "b@example.com"
    assert _not_sent_lines(_log(ctx, delivery_id)) == {
        "a-gone@example.com": (SendState.DONE, "not sent: unsubscribed after preparation"),
        "b@example.com": (SendState.DONE, "not sent: the delivery was stopped by sam"),
        "c@example.com": (SendState.DONE, "not sent: the delivery was stopped by sam"),
    }
    assert check_counters(ctx, delivery_id).drift == []
