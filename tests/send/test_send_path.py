"""The send path for real: prepare, confirm, relay over SMTP to a loopback MTA, record."""

from __future__ import annotations

import datetime as dt
import email
from email.message import Message

import pytest

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryError, confirm_send, pause_delivery
from mailcast.domain import (
    DeliveryState,
    FailureReason,
    FailureType,
    FeedbackMode,
    MessageStatus,
    SendState,
)
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import counters as counter_store
from mailcast.store import messages as message_store
from mailcast.users.service import PermissionDenied, User


def _log(ctx: Context, delivery_id: int) -> dict[str, dict]:
    with ctx.db.read() as conn:
        return {
            row["address"]: dict(row)
            for row in message_store.sending_log(conn, delivery_id, limit=10_000)
        }


def _parsed(mta: SandboxMTA) -> dict[str, Message]:
    return {r.recipients[0]: email.message_from_bytes(r.data or b"") for r in mta.received()}


def test_every_recipient_gets_one_personalised_message(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    addresses = [f"user{n}@example.com" for n in range(25)]
    scenario.audience(addresses)
    delivery_id = scenario.sending()

    send_until_idle(ctx)

    assert sorted(mta.recipients_counter()) == sorted(addresses)
    assert set(mta.recipients_counter().values()) == {1}
    messages = _parsed(mta)
    first = messages["user0@example.com"]
    assert first["Subject"] == "Hello P0"
    assert first["To"] == "P0 <user0@example.com>"
    html_part = next(p for p in first.walk() if p.get_content_type() == "text/html")
    body = html_part.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert b"Hi P0" in body
    assert len({m["Message-ID"] for m in messages.values()}) == 25
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT


def test_the_return_path_is_a_signed_verp_address_naming_the_message(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)

    log = _log(ctx, delivery_id)
    for received in mta.received():
        message_id = ctx.signer.message_from_return_path(received.mail_from)
        assert message_id == log[received.recipients[0]]["id"]
        assert received.message_id == log[received.recipients[0]]["message_id_header"]
    forged = mta.received()[0].mail_from.replace("-", "-1", 1)
    assert ctx.signer.message_from_return_path(forged) is None


def test_legacy_mode_kpis_after_the_hand_off(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    scenario.audience(["ok1@example.com", "ok2@example.com", "unknown@example.com", "full@x.org"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)

    log = _log(ctx, delivery_id)
    assert log["ok1@example.com"]["status"] == MessageStatus.SENT
    hard = log["unknown@example.com"]
    assert (hard["status"], hard["failure_type"]) == (MessageStatus.FAILED, FailureType.HARD)
    assert hard["failure_reason"] == FailureReason.USER_UNKNOWN
    assert hard["smtp_code"] == 550 and "User unknown" in hard["smtp_response"]
    assert hard["send_state"] == SendState.DONE
    # A 4xx at the hand-off: still queued, its soft failure noted, and not processed yet, so
    # Delivered % is unchanged by it until its retries fail (the legacy table).
    soft = log["full@x.org"]
    assert (soft["status"], soft["failure_type"]) == (MessageStatus.QUEUED, FailureType.SOFT)
    assert soft["failure_reason"] == FailureReason.MAILBOX_FULL
    assert (soft["smtp_code"], soft["attempts"]) == (452, 1)
    # Queued for a retry an hour later (ACS), not given up.
    assert soft["send_state"] == SendState.WAITING
    assert soft["next_attempt_at"] == ctx.clock.now() + dt.timedelta(hours=1)

    d = deployment(ctx, delivery_id)
    assert (d.kpis.to_deliver, d.kpis.processed) == (4, 3)
    assert (d.kpis.delivered_pct, d.kpis.bounces_pct) == (66.67, 33.33)
    assert d.state is DeliveryState.SENT and d.only_retries_left


def test_a_soft_failure_is_retried_when_due_and_then_counts_as_delivered(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    scenario.audience(["ok@example.com", "full@example.com"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    assert deployment(ctx, delivery_id).kpis.delivered_pct == 100.0  # the 4xx is not counted

    mta.handler.rules = lambda address: None  # the mailbox has room again
    send_until_idle(ctx)  # not due yet: nothing happens
    assert mta.recipients_counter()["full@example.com"] == 0
    clock.advance(dt.timedelta(hours=1))
    send_until_idle(ctx)

    assert mta.recipients_counter()["full@example.com"] == 1
    retried = _log(ctx, delivery_id)["full@example.com"]
    assert (retried["status"], retried["attempts"]) == (MessageStatus.SENT, 2)
    assert deployment(ctx, delivery_id).kpis.delivered_pct == 100.0


def test_efs_mode_keeps_relayed_messages_pending(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com", "b@example.com", "unknown@example.com"])
    delivery_id = scenario.sending(feedback_mode=FeedbackMode.EFS)
    send_until_idle(ctx)

    statuses = {a: row["status"] for a, row in _log(ctx, delivery_id).items()}
    assert statuses == {
        "a@example.com": MessageStatus.PENDING,
        "b@example.com": MessageStatus.PENDING,
        "unknown@example.com": MessageStatus.FAILED,
    }
    k = deployment(ctx, delivery_id).kpis
    assert (k.processed, k.delivered_pct, k.bounces_pct) == (3, 0.0, 33.33)


def test_dsn_is_requested_with_envid_and_orcpt_when_the_relay_offers_it(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.sending(feedback_mode=FeedbackMode.EFS)
    send_until_idle(ctx)

    [received] = mta.received()
    message_id = _log(ctx, delivery_id)["a@example.com"]["id"]
    envid = received.mail_params["ENVID"]
    assert ctx.signer.message_from_return_path(f"{envid}@{ctx.settings.bounce_domain}") == (
        message_id
    )
    params = received.params_for("a@example.com")
    assert params["NOTIFY"] == "SUCCESS,FAILURE,DELAY"
    assert params["ORCPT"].lower() == "rfc822;a@example.com"


def test_live_counters_equal_a_recount_of_the_sending_log(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    scenario.audience([f"u{n}@example.com" for n in range(30)] + ["unknown1@x.org", "full1@x.org"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)

    with ctx.db.read() as conn:
        live = counter_store.read_counts(conn, delivery_id)
        recount = counter_store.recount_statuses(conn, delivery_id)
    assert (live.queued, live.pending, live.sent, live.failed, live.not_sent) == (
        recount[MessageStatus.QUEUED],
        recount[MessageStatus.PENDING],
        recount[MessageStatus.SENT],
        recount[MessageStatus.FAILED],
        recount[MessageStatus.NOT_SENT],
    )
    assert (live.sent, live.failed, live.queued) == (30, 1, 1)  # the 4xx waits, queued


def test_confirming_without_start_deliveries_is_refused_and_changes_nothing(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.prepared()

    with pytest.raises(PermissionDenied, match="'start_deliveries' is missing"):
        confirm_send(ctx, marie, delivery_id)

    assert deployment(ctx, delivery_id).state is DeliveryState.READY
    send_until_idle(ctx)
    assert mta.count == 0


def test_a_delivery_must_be_prepared_before_it_is_confirmed(
    ctx: Context, scenario: Scenario, sam: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.delivery()
    with pytest.raises(DeliveryError, match="prepared"):
        confirm_send(ctx, sam, delivery_id)


def test_a_paused_delivery_sends_nothing_more_until_resumed(
    ctx: Context, scenario: Scenario, sam: User, mta: SandboxMTA
) -> None:
    scenario.audience([f"u{n}@example.com" for n in range(5)])
    delivery_id = scenario.sending()
    pause_delivery(ctx, sam, delivery_id)

    send_until_idle(ctx)

    assert mta.count == 0
    assert deployment(ctx, delivery_id).counts.queued == 5
