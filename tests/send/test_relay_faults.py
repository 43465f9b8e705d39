"""Relays and receivers that throttle or fail: backoff without blame, pauses that end by
themselves. Each against a scripted SMTP relay on loopback and the real engine."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from scripted_relay import Script, ScriptedRelay
from worker_helpers import sending_log, wait_until

from conftest import Scenario
from engine_thread import engine_running
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import resume_delivery
from mailcast.domain import DeliveryState, MessageStatus, PauseCause
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import Deployment, deployment
from mailcast.store import addresses as address_store
from mailcast.users.service import User
from mailcast.web.metrics import collect, render

RATE_LIMITED = "451 4.7.1 rate limited, try again in 30 seconds"
RELAY_RETRY = dt.timedelta(seconds=6)  # a message the relay refused goes again 5 s later


def _audience(scenario: Scenario, **per_domain: int) -> list[str]:
    addresses = [
        f"r{n}@{domain.replace('_', '.')}"
        for domain, count in per_domain.items()
        for n in range(count)
    ]
    scenario.audience(addresses)
    return addresses


def _address_states(ctx: Context) -> dict[str, int]:
    with ctx.db.read() as conn:
        return {str(status): n for status, n in address_store.count_by_status(conn).items()}


@contextmanager
def _relay(ctx: Context, scripts: dict[str, Script]) -> Iterator[ScriptedRelay]:
    with ScriptedRelay(scripts) as relay:
        ctx.settings.relay.port = relay.port
        yield relay


def test_a_domain_that_rate_limits_is_held_and_retried_without_blame(
    ctx: Context, scenario: Scenario, clock: ManualClock
) -> None:
    addresses = _audience(scenario, slow_example=70, fine_example=30)
    slow = {a for a in addresses if a.endswith("@slow.example")}
    with _relay(ctx, {"slow.example": Script(RATE_LIMITED, times=5)}) as relay:
        delivery_id = scenario.sending()
        send_until_idle(ctx)
        # The refusals held the domain: what was not in flight then waits, untried.
        first = relay.accepted()
        assert set(first) >= set(addresses) - slow and len(first) < len(addresses)
        held = {a: line for a, line in sending_log(ctx, delivery_id).items() if a not in first}
        assert {line["status"] for line in held.values()} == {MessageStatus.QUEUED}
        after_30_s = clock.now() + dt.timedelta(seconds=30)
        assert {line["next_attempt_at"] for line in held.values()} == {after_30_s}

        clock.advance(dt.timedelta(seconds=31))
        send_until_idle(ctx)
        assert relay.accepted() == dict.fromkeys(addresses, 1)

    log = sending_log(ctx, delivery_id)
    # Each refused try counts as an attempt; the address is not blamed for it.
    assert sum(line["attempts"] for line in log.values()) == len(addresses) + 5
    assert _address_states(ctx) == {}
    d = deployment(ctx, delivery_id)
    assert (d.state, d.counts.failed, d.counts.processed) == (DeliveryState.SENT, 0, 100)


def test_a_421_at_data_backs_off_and_counts_the_attempt(
    ctx: Context, scenario: Scenario, clock: ManualClock
) -> None:
    _audience(scenario, busy_example=10)
    script = Script("421 4.7.0 Try again later, closing connection", stage="data", times=None)
    with _relay(ctx, {"busy.example": script}) as relay:
        delivery_id = scenario.sending()
        send_until_idle(ctx)
    # Once, not every 5 s: the domain is held for the default wait, each try counted.
    assert relay.refusals["busy.example"] <= ctx.settings.send.concurrency
    log = sending_log(ctx, delivery_id).values()
    wait = dt.timedelta(seconds=ctx.settings.pacing.wait_seconds)
    assert {line["next_attempt_at"] for line in log} == {clock.now() + wait}
    assert sum(line["attempts"] for line in log) == relay.refusals["busy.example"]
    assert {line["smtp_code"] for line in log if line["attempts"]} == {421}
    assert _address_states(ctx) == {}


def test_relay_access_denied_for_everyone_pauses_and_resumes_by_itself(
    ctx: Context, scenario: Scenario, clock: ManualClock
) -> None:
    addresses = _audience(scenario, example_com=60)
    ctx.settings.send.max_consecutive_errors = 5
    ctx.settings.send.probe_first_seconds = 0.05
    denied = Script("554 5.7.1 <r0@example.com>: Relay access denied", times=None)
    with _relay(ctx, {"*": denied}) as relay:
        delivery_id = scenario.sending()
        with engine_running(ctx):
            wait_until(lambda: deployment(ctx, delivery_id).state is DeliveryState.PAUSED)
            paused = deployment(ctx, delivery_id)
            assert _paused_for("554 5.7.1", paused)
            assert 'mailcast_deliveries_paused{cause="relay"} 1' in render(collect(ctx))
            # Nothing counted against anyone, nothing failed, it does not read "sent".
            assert _address_states(ctx) == {}
            assert (paused.counts.failed, paused.counts.queued) == (0, 60)

            relay.fix()
            wait_until(lambda: deployment(ctx, delivery_id).state is DeliveryState.SENDING)
            assert deployment(ctx, delivery_id).pause_reason is None
            clock.advance(RELAY_RETRY)
            wait_until(lambda: deployment(ctx, delivery_id).state is DeliveryState.SENT)
    assert relay.accepted() == dict.fromkeys(addresses, 1)


def test_an_unreachable_relay_pauses_and_the_send_resumes_when_it_is_back(
    ctx: Context, scenario: Scenario, clock: ManualClock
) -> None:
    addresses = _audience(scenario, example_com=20)
    ctx.settings.send.max_consecutive_errors = 3
    ctx.settings.send.probe_first_seconds = 0.05
    ctx.settings.relay.port = port = _free_port()
    delivery_id = scenario.sending()
    with engine_running(ctx):
        wait_until(lambda: deployment(ctx, delivery_id).state is DeliveryState.PAUSED)
        assert _paused_for("relay unreachable", deployment(ctx, delivery_id))
        with ScriptedRelay({}, port=port) as relay:
            wait_until(lambda: deployment(ctx, delivery_id).state is DeliveryState.SENDING)
            clock.advance(RELAY_RETRY)
            wait_until(lambda: deployment(ctx, delivery_id).state is DeliveryState.SENT)
    assert relay.accepted() == dict.fromkeys(addresses, 1)
    assert _address_states(ctx) == {}


def test_an_operator_may_resume_a_send_the_relay_paused(
    ctx: Context, scenario: Scenario, sam: User, clock: ManualClock
) -> None:
    addresses = _audience(scenario, example_com=10)
    ctx.settings.send.max_consecutive_errors = 2
    denied = Script("550 5.7.1 Sender address rejected: not owned by user", times=None)
    with _relay(ctx, {"*": denied}) as relay:
        delivery_id = scenario.sending()
        send_until_idle(ctx)
        assert deployment(ctx, delivery_id).state is DeliveryState.PAUSED
        relay.fix()
        resume_delivery(ctx, sam, delivery_id)
        assert deployment(ctx, delivery_id).paused_by is None
        clock.advance(RELAY_RETRY)
        send_until_idle(ctx)
    assert relay.accepted() == dict.fromkeys(addresses, 1)
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT


def test_a_refusal_about_the_recipient_still_counts_against_the_address(
    ctx: Context, scenario: Scenario
) -> None:
    _audience(scenario, gone_example=3)
    unknown = Script("550 5.1.1 user unknown", times=None)
    with _relay(ctx, {"gone.example": unknown}):
        delivery_id = scenario.sending()
        send_until_idle(ctx)
    d = deployment(ctx, delivery_id)
    assert (d.state, d.counts.failed) == (DeliveryState.SENT, 3)
    assert sum(_address_states(ctx).values()) == 3


def _paused_for(words: str, d: Deployment) -> bool:
    return d.paused_by is PauseCause.RELAY and words in (d.pause_reason or "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
