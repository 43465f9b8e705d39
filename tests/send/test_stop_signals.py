"""A stop is not a crash: SIGTERM or Ctrl-C ends `mailcast worker` and `mailcast serve` cleanly.

The real commands run as processes against the test database; the relay holds each DATA a
moment, so the send is mid-way when the signal comes. What was on the wire is recorded, the
rest goes back to the queue at once, and a restart sends every recipient exactly once.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
from worker_helpers import CountingRelay, finish, in_flight, sending_log, start_mailcast, wait_until

from conftest import Scenario
from mailcast.clock import SystemClock
from mailcast.context import Context
from mailcast.domain import DeliveryState, MessageStatus
from mailcast.stats.deployment import deployment

RECIPIENTS = [f"s{n}@example.com" for n in range(300)]
# The default lease: a message left in flight would hold up the restart for a minute.
LEASE_SECONDS = 60
SETTINGS = {"lease_seconds": LEASE_SECONDS, "concurrency": 4, "batch_size": 20}
SERVE_WORKER_ONLY = ("serve", "--no-web", "--no-bounces", "--no-scheduler")


@pytest.fixture
def live_ctx(ctx: Context) -> Context:
    """The processes run on the system clock: so must the delivery's dates."""
    ctx.clock = SystemClock()
    return ctx


@pytest.mark.parametrize(
    ("command", "sig"),
    [
        (("worker",), signal.SIGTERM),
        (("worker",), signal.SIGINT),
        (SERVE_WORKER_ONLY, signal.SIGTERM),
    ],
    ids=["worker-sigterm", "worker-sigint", "serve-sigterm"],
)
def test_a_signal_mid_send_records_the_hand_offs_and_a_restart_sends_nothing_twice(
    live_ctx: Context, scenario: Scenario, command: tuple[str, ...], sig: signal.Signals
) -> None:
    ctx = live_ctx
    scenario.audience(RECIPIENTS)
    delivery_id = scenario.sending()
    with CountingRelay(hold=0.05) as relay:
        process = start_mailcast(ctx, relay.port, *command, **SETTINGS)
        try:
            wait_until(lambda: relay.count() >= 20 or process.poll() is not None)
            asked = time.monotonic()
            process.send_signal(sig)
            _, stderr = process.communicate(timeout=LEASE_SECONDS)
            took = time.monotonic() - asked
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, stderr
        assert took < 5, f"the stop took {took:.1f} s"
        at_stop = relay.received()

        # Nothing is left for the lease: what was on the wire is recorded, the rest waits.
        assert in_flight(ctx, delivery_id) == 0
        log = sending_log(ctx, delivery_id)
        sent = {address for address, line in log.items() if line["status"] == MessageStatus.SENT}
        assert sent == set(at_stop), "exactly what the relay received is recorded sent"
        assert 20 <= len(sent) < len(RECIPIENTS)
        block = deployment(ctx, delivery_id)
        assert block.state is DeliveryState.SENDING
        assert block.counts.queued == len(RECIPIENTS) - len(sent)

        finish(start_mailcast(ctx, relay.port, "worker", "--until-idle", **SETTINGS))
        assert relay.received() == Counter(RECIPIENTS), "every recipient received it once"

    log = sending_log(ctx, delivery_id)
    assert {line["relay_attempts"] for line in log.values()} == {1}
    block = deployment(ctx, delivery_id)
    assert block.state is DeliveryState.SENT
    assert block.relayed_more_than_once == 0
