"""Intake at scale: the receiver keeps and answers, consumers apply in batches, once each.

Reports are kept by the real receiver (over SMTP) or by the keeping function the receiver
calls; consumers are real processes where a test kills one, threads where the test's clock
must rule them.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bounce_mail import Sent, dsn, hand_over, sent
from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import EventKind, MessageStatus, ReportOutcome
from mailcast.feedback import consumer, inbound
from mailcast.feedback.receiver import BounceReceiver
from mailcast.feedback.report_consumer import ReportConsumer
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.compute import check_counters
from mailcast.store import messages as message_store
from mailcast.store.tables import events, inbound_reports

WAIT = 60.0  # the most a consumer may take (not a timing assertion)


@pytest.fixture
def receiver(ctx: Context) -> Iterator[BounceReceiver]:
    with BounceReceiver(ctx, port=0) as server:
        yield server


def _sending(ctx: Context, scenario: Scenario, count: int) -> tuple[int, dict[str, Sent]]:
    addresses = [f"reader{n}@example.com" for n in range(count)]
    scenario.audience(addresses)
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    return delivery_id, sent(ctx, delivery_id)


def _keep(ctx: Context, notices: list[tuple[Sent, bytes]]) -> list[int]:
    """Keep notices as the receiver does (one commit), without applying them."""
    arrived = [
        inbound.arrived(ctx, raw, inbound.Envelope("", (msg.return_path,), "192.0.2.1"))
        for msg, raw in notices
    ]
    return inbound.keep_reports(ctx, arrived)


def _outcomes(ctx: Context) -> Counter[str]:
    query = select(inbound_reports.c.outcome, func.count()).group_by(inbound_reports.c.outcome)
    with ctx.db.read() as conn:
        return Counter({str(outcome): int(n) for outcome, n in conn.execute(query)})


def _bounced_per_message(ctx: Context, delivery_id: int) -> Counter[int]:
    query = select(events.c.message_id).where(
        events.c.delivery_id == delivery_id, events.c.kind == EventKind.BOUNCED
    )
    with ctx.db.read() as conn:
        return Counter(int(i) for i in conn.execute(query).scalars())


def _until(what: str, done: object) -> None:
    deadline = time.monotonic() + WAIT
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}: not within {WAIT} s"
        time.sleep(0.05)


def _assert_each_applied_once(ctx: Context, delivery_id: int, msgs: dict[str, Sent]) -> None:
    bounced = _bounced_per_message(ctx, delivery_id)
    assert sorted(bounced) == sorted(m.id for m in msgs.values())
    assert set(bounced.values()) == {1}
    assert _outcomes(ctx) == Counter({ReportOutcome.APPLIED.value: len(msgs)})
    with ctx.db.read() as conn:
        log = message_store.sending_log(conn, delivery_id, limit=len(msgs) + 1)
    assert {row["status"] for row in log} == {MessageStatus.FAILED}
    assert check_counters(ctx, delivery_id).drift == []


def test_the_receiver_answers_once_the_report_is_kept_and_a_consumer_applies_it_later(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    delivery_id, msgs = _sending(ctx, scenario, 3)
    with BounceReceiver(ctx, port=0, consume=False) as receiver:
        for msg in msgs.values():
            reply = hand_over(receiver.port, dsn(msg), [msg.return_path])
            assert reply.startswith("2.0.0 Ok: kept as report")
        assert _outcomes(ctx) == Counter({ReportOutcome.RECEIVED.value: 3})
        assert receiver.stored == 3

    assert consumer.apply_waiting(ctx) == 3

    _assert_each_applied_once(ctx, delivery_id, msgs)
    assert consumer.apply_waiting(ctx) == 0


def test_a_consumer_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    delivery_id, msgs = _sending(ctx, scenario, 1500)
    report_ids = _keep(ctx, [(msg, dsn(msg)) for msg in msgs.values()])
    # A consumer of its own (real clock), killed while it is applying.
    killed = ReportConsumer(ctx, processes=1, poll_seconds=0.05).start()
    [pid] = killed.pids
    _until("the consumer's first batch", lambda: _outcomes(ctx)[ReportOutcome.APPLIED] > 0)
    os.kill(pid, signal.SIGKILL)
    killed.stop(timeout=10)  # collects the dead process
    left = _outcomes(ctx)[ReportOutcome.RECEIVED]
    assert 0 < left < len(report_ids), "killed after its last batch: nothing was left to lose"

    # Another consumer applies what was never claimed at once; the killed one's batch
    # waits for its claim to run out (the report's message is not applied meanwhile).
    consumer.drain(ctx)
    assert _outcomes(ctx)[ReportOutcome.RECEIVED] <= consumer.BATCH
    clock.set(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=consumer.CLAIM_SECONDS + 60))
    consumer.drain(ctx)

    _assert_each_applied_once(ctx, delivery_id, msgs)


def test_two_consumer_processes_share_the_reports_and_apply_each_once(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    delivery_id, msgs = _sending(ctx, scenario, 800)
    _keep(ctx, [(msg, dsn(msg)) for msg in msgs.values()])

    two = ReportConsumer(ctx, processes=2, poll_seconds=0.05).start()
    try:
        _until("every report read", lambda: inbound.unread(ctx) == 0)
    finally:
        two.stop()

    _assert_each_applied_once(ctx, delivery_id, msgs)


def test_a_dsn_arriving_before_its_message_send_is_recorded_is_applied_once_it_is(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock, receiver: BounceReceiver
) -> None:
    scenario.audience(["gone@example.net"])
    delivery_id = scenario.sending()
    # A worker has the message on the wire; the relay's DSN overtakes the worker's record.
    with ctx.db.write() as conn:
        [claimed] = message_store.claim_batch(
            conn, delivery_id, "w1", clock.now(), clock.now() + dt.timedelta(hours=1), 10
        )
    msg = Sent(
        claimed.id,
        "gone@example.net",
        ctx.signer.return_path(claimed.id),
        ctx.signer.message_id_for(delivery_id, claimed.id),
    )

    hand_over(receiver, dsn(msg), [msg.return_path])

    assert _outcomes(ctx) == Counter({ReportOutcome.RECEIVED.value: 1})
    assert _bounced_per_message(ctx, delivery_id) == Counter()
    with ctx.db.write() as conn:  # the worker gives it back; it is sent and recorded
        message_store.release_claims(conn, "w1", [claimed.id], clock.now())
    send_until_idle(ctx)
    clock.advance(dt.timedelta(seconds=ctx.settings.bounces.retry_after_seconds))
    receiver.wait_applied()  # wakes the consumer, which tries the report again
    _until("the report applied", lambda: _outcomes(ctx)[ReportOutcome.APPLIED] == 1)

    _assert_each_applied_once(ctx, delivery_id, {msg.address: msg})


def test_a_notice_listing_500_recipients_is_read_whole(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, receiver: BounceReceiver
) -> None:
    delivery_id, msgs = _sending(ctx, scenario, 500)
    first, *others = msgs.values()
    # One notice about `first` (its VERP) with a block for each of the 500 addresses: only
    # the block about first's own recipient describes its message.
    notice = dsn(first)
    block_at = notice.index(b"Final-Recipient:")
    block_end = notice.index(b"\r\n\r\n", block_at)
    block = notice[block_at:block_end]
    blocks = [block.replace(first.address.encode(), m.address.encode()) for m in others]
    many = notice[:block_end] + b"".join(b"\r\n\r\n" + b for b in blocks) + notice[block_end:]

    hand_over(receiver, many, [first.return_path])

    with ctx.db.read() as conn:
        report = conn.execute(select(inbound_reports)).mappings().one()
    assert (report["outcome"], report["applied"], report["unmatched"]) == (
        ReportOutcome.APPLIED,
        1,
        499,
    )
    assert _bounced_per_message(ctx, delivery_id) == Counter({first.id: 1})
    assert check_counters(ctx, delivery_id).drift == []


def test_a_ten_megabyte_notice_is_kept_and_applied(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, receiver: BounceReceiver
) -> None:
    delivery_id, msgs = _sending(ctx, scenario, 1)
    [msg] = msgs.values()
    notice = dsn(msg)
    # The returned message (a 9.9 MB attachment) after the notice's last part.
    boundary = notice.rsplit(b"\r\n--", 1)[1].split(b"--", 1)[0]
    attachment = b"Content-Type: text/plain\r\n\r\n" + (b"x" * 998 + b"\r\n") * 9_900
    big = notice.replace(
        b"\r\n--" + boundary + b"--",
        b"\r\n--" + boundary + b"\r\n" + attachment + b"\r\n--" + boundary + b"--",
    )
    assert 9_800_000 < len(big) < ctx.settings.bounces.max_message_bytes

    hand_over(receiver, big, [msg.return_path])

    _assert_each_applied_once(ctx, delivery_id, msgs)
    with ctx.db.read() as conn:
        size = conn.execute(select(inbound_reports.c.size)).scalar_one()
    assert size == len(big)


def test_a_report_the_database_refuses_holds_back_no_other_report_of_its_batch(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery_id, msgs = _sending(ctx, scenario, 3)
    first, refused, third = _keep(ctx, [(msg, dsn(msg)) for msg in msgs.values()])
    real = consumer.apply_observations

    def refusing(ctx_: Context, observations: list, then: object = None) -> object:
        if any(obs.report_id == refused for obs in observations):
            raise RuntimeError("value too long for type character varying(400)")
        return real(ctx_, observations, then=then)  # type: ignore[arg-type]

    monkeypatch.setattr(consumer, "apply_observations", refusing)

    assert consumer.apply_waiting(ctx) == 3

    with ctx.db.read() as conn:
        rows = {r["id"]: r for r in conn.execute(select(inbound_reports)).mappings()}
    assert rows[first]["outcome"] == rows[third]["outcome"] == ReportOutcome.APPLIED
    assert rows[refused]["outcome"] == ReportOutcome.RECEIVED
    assert "value too long" in rows[refused]["error"]
    assert len(_bounced_per_message(ctx, delivery_id)) == 2
