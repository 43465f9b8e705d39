"""Applying feedback: the legacy and EFS tables of SPEC §4, one event each, exact counters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bounce_mail import Sent, arf, dsn, hand_over, sent, vacation
from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import (
    AddressStatus,
    EventKind,
    ExclusionReason,
    FailureReason,
    FailureType,
    FeedbackMode,
    MessageStatus,
    ReportOutcome,
    SendState,
)
from mailcast.feedback.apply import apply_observations
from mailcast.feedback.observation import MessageRef, Observation, Seen
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule import run_due_jobs
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import addresses as address_store
from mailcast.store import counters as counter_store
from mailcast.store import messages as message_store
from mailcast.store.tables import events, exclusions, inbound_reports

HOUR = dt.timedelta(hours=1)
S, P, F = MessageStatus.SENT, MessageStatus.PENDING, MessageStatus.FAILED


@pytest.fixture
def receiver(ctx: Context) -> Iterator[BounceReceiver]:
    with BounceReceiver(ctx, port=0) as server:
        yield server


class Campaign:
    """One delivery sent to the sandbox, and the bounce receiver to report on it."""

    def __init__(self, ctx: Context, scenario: Scenario, receiver: BounceReceiver) -> None:
        self.ctx, self.scenario, self.receiver = ctx, scenario, receiver
        self.delivery_id = 0
        self.msgs: dict[str, Sent] = {}

    def send(self, addresses: list[str], mode: FeedbackMode) -> None:
        self.scenario.audience(addresses)
        self.delivery_id = self.scenario.sending(feedback_mode=mode)
        send_until_idle(self.ctx)
        self.msgs = sent(self.ctx, self.delivery_id)

    def report(self, data: bytes, to: str) -> None:
        hand_over(self.receiver, data, [to])

    def bounce(self, address: str, **fields: Any) -> None:
        msg = self.msgs[address]
        self.report(dsn(msg, **fields), msg.return_path)

    def line(self, address: str) -> dict[str, Any]:
        with self.ctx.db.read() as conn:
            log = message_store.sending_log(conn, self.delivery_id, limit=1000)
        return dict(next(r for r in log if r["address"] == address))

    def statuses(self) -> dict[str, MessageStatus]:
        return {a: MessageStatus(self.line(a)["status"]) for a in self.msgs}

    def rates(self) -> tuple[float, float]:
        k = deployment(self.ctx, self.delivery_id).kpis
        return k.delivered_pct, k.bounces_pct

    def events_of(self, address: str) -> list[str]:
        query = (
            select(events.c.kind)
            .where(events.c.message_id == self.msgs[address].id)
            .order_by(events.c.id)
        )
        with self.ctx.db.read() as conn:
            return [str(kind) for kind in conn.execute(query).scalars()]

    def assert_counters_exact(self) -> None:
        with self.ctx.db.read() as conn:
            live = counter_store.read_counts(conn, self.delivery_id)
            recount = counter_store.recount_statuses(conn, self.delivery_id)
        assert (live.queued, live.pending, live.sent, live.failed, live.not_sent) == (
            recount[MessageStatus.QUEUED],
            recount[MessageStatus.PENDING],
            recount[MessageStatus.SENT],
            recount[MessageStatus.FAILED],
            recount[MessageStatus.NOT_SENT],
        )


@pytest.fixture
def campaign(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, receiver: BounceReceiver
) -> Campaign:
    return Campaign(ctx, scenario, receiver)


ADDRESSES = ["ok@example.com", "gone@example.net", "box@example.org"]


def test_legacy_mode_table(
    ctx: Context, campaign: Campaign, mta: SandboxMTA, clock: ManualClock
) -> None:
    campaign.send(ADDRESSES, FeedbackMode.LEGACY)
    assert campaign.statuses() == dict.fromkeys(ADDRESSES, S)  # relayed: sent
    assert campaign.rates() == (100.0, 0.0)

    campaign.bounce("gone@example.net", status="5.1.1")  # hard bounce: sent -> failed
    assert campaign.statuses()["gone@example.net"] is F
    assert campaign.rates() == (66.67, 33.33)

    campaign.bounce("box@example.org", status="5.2.2", diagnostic="552 5.2.2 Mailbox full")
    box = campaign.line("box@example.org")  # soft bounce: stays sent, queued for a retry
    assert (box["status"], box["failure_type"], box["failure_reason"]) == (
        S,
        FailureType.SOFT,
        FailureReason.MAILBOX_FULL,
    )
    assert (box["send_state"], box["next_attempt_at"]) == (SendState.WAITING, clock.now() + HOUR)
    assert campaign.rates() == (66.67, 33.33)

    clock.advance(HOUR)
    send_until_idle(ctx)  # the retry is accepted: a retry that succeeds stays sent
    box = campaign.line("box@example.org")
    assert (box["status"], box["attempts"], box["failure_type"]) == (S, 2, None)
    assert mta.recipients_counter()["box@example.org"] == 2
    assert mta.recipients_counter()["ok@example.com"] == 1
    assert campaign.rates() == (66.67, 33.33)

    assert campaign.events_of("gone@example.net") == [EventKind.RELAYED, EventKind.BOUNCED]
    assert campaign.events_of("box@example.org") == [
        EventKind.RELAYED,
        EventKind.BOUNCED,
        EventKind.RETRIED,
    ]
    campaign.assert_counters_exact()


def test_efs_mode_table(
    ctx: Context, campaign: Campaign, mta: SandboxMTA, clock: ManualClock
) -> None:
    campaign.send(ADDRESSES, FeedbackMode.EFS)
    assert campaign.statuses() == dict.fromkeys(ADDRESSES, P)  # relayed: pending
    assert campaign.rates() == (0.0, 0.0)

    campaign.bounce("ok@example.com", action="relayed", status="2.0.0")  # delivered: -> sent
    assert campaign.statuses()["ok@example.com"] is S
    assert campaign.rates() == (33.33, 0.0)

    campaign.bounce("gone@example.net", status="5.1.1")  # hard bounce: pending -> failed
    assert campaign.statuses()["gone@example.net"] is F
    assert campaign.rates() == (33.33, 33.33)

    campaign.bounce("box@example.org", status="4.2.2", diagnostic="452 4.2.2 Mailbox full")
    box = campaign.line("box@example.org")  # soft bounce: pending -> failed, retried
    assert (box["status"], box["failure_type"]) == (F, FailureType.SOFT)
    assert box["next_attempt_at"] == clock.now() + HOUR
    assert campaign.rates() == (33.33, 66.67)

    clock.advance(HOUR)
    send_until_idle(ctx)  # handed over again: success is known only when reported
    assert mta.recipients_counter()["box@example.org"] == 2
    assert campaign.statuses()["box@example.org"] is F
    campaign.bounce("box@example.org", action="delivered", status="2.0.0")  # failed -> sent
    box = campaign.line("box@example.org")
    assert (box["status"], box["failure_type"], box["delivered_at"]) == (S, None, clock.now())
    assert campaign.rates() == (66.67, 33.33)

    assert campaign.events_of("box@example.org") == [
        EventKind.RELAYED,
        EventKind.BOUNCED,
        EventKind.RETRIED,
        EventKind.DELIVERED,
    ]
    campaign.assert_counters_exact()


# Legacy mode hears no success, so a delay leaves the line as it was: marking it would fail a
# message the MTA went on to deliver when the validity period ends.
@pytest.mark.parametrize(
    ("mode", "after", "failure_type"),
    [(FeedbackMode.LEGACY, S, None), (FeedbackMode.EFS, F, FailureType.SOFT)],
    ids=["legacy", "efs"],
)
def test_a_delay_notice_is_recorded_and_nothing_is_sent_again(
    ctx: Context,
    campaign: Campaign,
    mta: SandboxMTA,
    clock: ManualClock,
    mode: FeedbackMode,
    after: MessageStatus,
    failure_type: FailureType | None,
) -> None:
    campaign.send(["slow@example.org"], mode)

    campaign.bounce("slow@example.org", action="delayed", status="4.4.1")

    line = campaign.line("slow@example.org")
    assert (line["status"], line["failure_type"]) == (after, failure_type)
    assert (line["send_state"], line["next_attempt_at"]) == (SendState.DONE, None)
    assert campaign.events_of("slow@example.org") == [EventKind.RELAYED, EventKind.DEFERRED]
    clock.advance(dt.timedelta(days=1))
    send_until_idle(ctx)
    assert mta.recipients_counter()["slow@example.org"] == 1  # the MTA retries, not mailcast
    # The MTA's own retry succeeds later: the delay is resolved.
    campaign.bounce("slow@example.org", action="delivered", status="2.0.0")
    line = campaign.line("slow@example.org")
    assert (line["status"], line["failure_type"]) == (S, None)
    campaign.assert_counters_exact()


def test_in_legacy_mode_a_delayed_message_is_not_failed_when_the_validity_period_ends(
    ctx: Context, campaign: Campaign, clock: ManualClock
) -> None:
    campaign.send(["slow@example.org", "ok@example.org"], FeedbackMode.LEGACY)
    campaign.bounce("slow@example.org", action="delayed", status="4.4.1")

    clock.advance(ctx.settings.validity_period)
    assert run_due_jobs(ctx)["deliveries_finished"] == 1

    assert campaign.statuses() == {"slow@example.org": S, "ok@example.org": S}
    campaign.assert_counters_exact()


def test_a_complaint_puts_the_address_on_the_denylist_and_keeps_the_log_line(
    ctx: Context, campaign: Campaign
) -> None:
    campaign.send(["ok@example.com", "angry@example.com"], FeedbackMode.LEGACY)
    angry = campaign.msgs["angry@example.com"]

    campaign.report(arf(angry), f"feedback@{ctx.settings.bounce_domain}")

    assert campaign.statuses() == {"ok@example.com": S, "angry@example.com": S}
    assert campaign.events_of("angry@example.com") == [EventKind.RELAYED, EventKind.COMPLAINED]
    with ctx.db.read() as conn:
        state = address_store.get_address_state(conn, "angry@example.com")
    assert state is not None and state["status"] == AddressStatus.DENYLIST
    assert campaign.rates() == (100.0, 0.0)

    next_one = campaign.scenario.prepared()
    with ctx.db.read() as conn:
        left_out = conn.execute(
            select(exclusions.c.address, exclusions.c.reason).where(
                exclusions.c.delivery_id == next_one
            )
        ).all()
    assert [tuple(row) for row in left_out] == [("angry@example.com", ExclusionReason.DENYLISTED)]


def test_an_auto_reply_is_an_event_and_nothing_more(ctx: Context, campaign: Campaign) -> None:
    campaign.send(["away@example.com"], FeedbackMode.EFS)
    away = campaign.msgs["away@example.com"]

    campaign.report(vacation(away), away.return_path)

    line = campaign.line("away@example.com")
    assert (line["status"], line["failure_type"], line["send_state"]) == (P, None, SendState.DONE)
    assert campaign.events_of("away@example.com") == [EventKind.RELAYED, EventKind.IGNORED]
    with ctx.db.read() as conn:
        assert address_store.get_address_state(conn, "away@example.com") is None
    assert campaign.rates() == (0.0, 0.0)


def test_applying_the_same_observations_twice_changes_nothing(
    ctx: Context, campaign: Campaign
) -> None:
    campaign.send(["gone@example.net", "ok@example.com"], FeedbackMode.EFS)
    gone, ok = campaign.msgs["gone@example.net"], campaign.msgs["ok@example.com"]
    batch = [
        Observation(
            ref=MessageRef(verp=gone.return_path, address=gone.address),
            seen=Seen.FAILED,
            at=ctx.clock.now(),
            source="generic",
            source_key="generic:evt-1",
            failure_type=FailureType.HARD,
            failure_reason=FailureReason.USER_UNKNOWN,
        ),
        Observation(
            ref=MessageRef(message_id_header=ok.message_id, address=ok.address),
            seen=Seen.DELIVERED,
            at=ctx.clock.now(),
            source="generic",
            source_key="generic:evt-2",
        ),
    ]

    first = apply_observations(ctx, batch)
    second = apply_observations(ctx, batch + batch)

    assert (first.applied, first.duplicates, first.unmatched) == (2, 0, 0)
    assert (second.applied, second.duplicates, second.unmatched) == (0, 4, 0)
    assert campaign.statuses() == {"gone@example.net": F, "ok@example.com": S}
    assert campaign.events_of("gone@example.net") == [EventKind.RELAYED, EventKind.BOUNCED]
    assert campaign.rates() == (50.0, 50.0)
    campaign.assert_counters_exact()


def test_a_bounce_about_a_message_on_the_wire_waits_and_is_applied_by_the_scheduler(
    ctx: Context, campaign: Campaign, clock: ManualClock
) -> None:
    campaign.send(["box@example.org"], FeedbackMode.EFS)
    box = campaign.msgs["box@example.org"]
    campaign.bounce("box@example.org", status="4.2.2", diagnostic="452 4.2.2 Mailbox full")
    clock.advance(HOUR)
    with ctx.db.write() as conn:  # a worker claims the retry and is sending it right now
        [claimed] = message_store.claim_batch(
            conn, campaign.delivery_id, "w1", clock.now(), clock.now() + HOUR, 10
        )

    campaign.bounce("box@example.org", action="delivered", status="2.0.0")

    with ctx.db.read() as conn:
        last = (
            conn.execute(select(inbound_reports).order_by(inbound_reports.c.id.desc()))
            .mappings()
            .first()
        )
    assert last is not None
    assert (last["outcome"], last["deferred"]) == (ReportOutcome.RECEIVED, 1)
    assert campaign.statuses()["box@example.org"] is F  # not applied under the worker
    with ctx.db.write() as conn:  # the worker gives the message back
        message_store.release_claims(conn, "w1", [claimed.id], clock.now())
    assert run_due_jobs(ctx)["reports_retried"] == 0  # not due yet
    campaign.receiver.stop()  # the scheduler applies it where no consumer runs
    clock.advance(dt.timedelta(seconds=ctx.settings.bounces.retry_after_seconds))

    assert run_due_jobs(ctx)["reports_retried"] == 1

    assert campaign.statuses()["box@example.org"] is S
    assert campaign.events_of("box@example.org")[-1] == EventKind.DELIVERED
    assert box.id == claimed.id
    campaign.assert_counters_exact()
