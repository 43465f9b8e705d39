"""Pause, resume and stop during a real send: the engine on its thread, a slow relay on loopback.

The relay holds each DATA a moment, so the send is still going when the user acts; what the
relay received is counted per address and compared with the sending log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from lifecycle_helpers import Relay, holds, in_flight, sending_log, wait_until

from conftest import Scenario
from engine_thread import engine_running
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import pause_delivery, resume_delivery, stop_delivery
from mailcast.domain import DeliveryState, MessageStatus, SendState
from mailcast.schedule import run_due_jobs
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.users.service import PermissionDenied, User

RECIPIENTS = [f"reader{n}@example.com" for n in range(40)]


@pytest.fixture
def slow_relay(ctx: Context) -> Iterator[Relay]:
    """A relay taking 30 ms per message, two connections: the send lasts about 0.6 s."""
    with Relay(hold=0.03) as relay:
        ctx.settings.relay.port = relay.port
        ctx.settings.send.concurrency = 2
        ctx.settings.send.batch_size = 4
        ctx.settings.send.poll_seconds = 0.05
        yield relay


def _state(ctx: Context, delivery_id: int) -> DeliveryState:
    return deployment(ctx, delivery_id).state


def _settled(ctx: Context, delivery_id: int) -> None:
    """Wait until the engine holds no message of the delivery: in-flight ones are recorded."""
    wait_until(lambda: in_flight(ctx, delivery_id) == 0)


def _sent_in_log(ctx: Context, delivery_id: int) -> set[str]:
    log = sending_log(ctx, delivery_id)
    return {a for a, line in log.items() if line["status"] == MessageStatus.SENT}


def test_pause_lets_in_flight_messages_finish_and_keeps_the_rest_queued(
    ctx: Context, scenario: Scenario, sam: User, slow_relay: Relay
) -> None:
    scenario.audience(RECIPIENTS)
    delivery_id = scenario.sending()
    with engine_running(ctx):
        wait_until(lambda: slow_relay.count() >= 6)
        pause_delivery(ctx, sam, delivery_id)
        _settled(ctx, delivery_id)
        left = slow_relay.received()

        # The engine keeps running: nothing more leaves while the delivery is paused.
        assert holds(lambda: slow_relay.received() == left, seconds=0.5)

    assert 6 <= sum(left.values()) < len(RECIPIENTS)
    assert set(left.values()) == {1}
    # What was on the wire when the pause came was recorded, not lost nor left in flight.
    assert _sent_in_log(ctx, delivery_id) == set(left)
    d = deployment(ctx, delivery_id)
    assert d.state is DeliveryState.PAUSED
    assert d.counts.queued == len(RECIPIENTS) - len(left)
    assert d.in_flight == 0


def test_resume_sends_the_rest_and_nothing_twice(
    ctx: Context, scenario: Scenario, sam: User, slow_relay: Relay
) -> None:
    scenario.audience(RECIPIENTS)
    delivery_id = scenario.sending()
    with engine_running(ctx):
        wait_until(lambda: slow_relay.count() >= 6)
        pause_delivery(ctx, sam, delivery_id)
        _settled(ctx, delivery_id)
        before = slow_relay.count()

        resume_delivery(ctx, sam, delivery_id)
        wait_until(lambda: _state(ctx, delivery_id) is DeliveryState.SENT)

    assert before < len(RECIPIENTS)
    assert slow_relay.received() == {address: 1 for address in RECIPIENTS}
    assert _sent_in_log(ctx, delivery_id) == set(RECIPIENTS)


def test_stop_ends_the_send_and_the_rest_is_never_sent_with_the_reason_in_the_log(
    ctx: Context, scenario: Scenario, sam: User, slow_relay: Relay, clock: ManualClock
) -> None:
    scenario.audience(RECIPIENTS)
    delivery_id = scenario.sending()
    with engine_running(ctx):
        wait_until(lambda: slow_relay.count() >= 6)
        stop_delivery(ctx, sam, delivery_id)
        _settled(ctx, delivery_id)
        relayed = slow_relay.received()
        assert holds(lambda: slow_relay.received() == relayed, seconds=0.5)

    log = sending_log(ctx, delivery_id)
    assert _sent_in_log(ctx, delivery_id) == set(relayed)
    not_sent = {a for a, line in log.items() if line["status"] == MessageStatus.NOT_SENT}
    assert not_sent == set(RECIPIENTS) - set(relayed) and not_sent
    for address in not_sent:
        assert log[address]["smtp_response"] == "not sent: the delivery was stopped by sam"
        assert log[address]["send_state"] == SendState.DONE
    d = deployment(ctx, delivery_id)
    assert (d.state, d.counts.not_sent, d.counts.queued) == (
        DeliveryState.STOPPED,
        len(not_sent),
        0,
    )

    # Never sent afterwards: not by another worker, nor after the validity period ends.
    send_until_idle(ctx)
    clock.advance(dt.timedelta(days=4))
    run_due_jobs(ctx)
    send_until_idle(ctx)
    assert slow_relay.received() == relayed
    assert _state(ctx, delivery_id) is DeliveryState.FINISHED


def test_a_paused_delivery_can_be_stopped(
    ctx: Context, scenario: Scenario, sam: User, slow_relay: Relay
) -> None:
    scenario.audience(RECIPIENTS[:5])
    delivery_id = scenario.sending()
    pause_delivery(ctx, sam, delivery_id)

    assert stop_delivery(ctx, sam, delivery_id) == 5
    send_until_idle(ctx)

    assert slow_relay.count() == 0
    d = deployment(ctx, delivery_id)
    assert (d.state, d.counts.not_sent) == (DeliveryState.STOPPED, 5)


def test_pause_resume_and_stop_need_start_deliveries(
    ctx: Context, scenario: Scenario, marie: User, sam: User
) -> None:
    scenario.audience(RECIPIENTS[:2])
    delivery_id = scenario.sending()
    for action in (pause_delivery, stop_delivery):
        with pytest.raises(PermissionDenied, match="'start_deliveries' is missing"):
            action(ctx, marie, delivery_id)
    pause_delivery(ctx, sam, delivery_id)
    with pytest.raises(PermissionDenied, match="'start_deliveries' is missing"):
        resume_delivery(ctx, marie, delivery_id)
    assert _state(ctx, delivery_id) is DeliveryState.PAUSED
