"""A worker process killed with SIGKILL at random points loses nothing and re-sends little."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from conftest import Scenario
from mailcast.clock import SystemClock
from mailcast.context import Context
from mailcast.deliveries.service import pause_delivery, resume_delivery
from mailcast.domain import DeliveryState, MessageStatus
from mailcast.sandbox.mta import SandboxMTA
from mailcast.stats.deployment import deployment
from mailcast.store import counters as counter_store
from mailcast.store import messages as message_store
from mailcast.users.service import User

RECIPIENTS = 3000
KILLS = 6


@pytest.fixture
def live_ctx(ctx: Context) -> Context:
    """The worker processes run on the system clock: so must the delivery's dates."""
    ctx.clock = SystemClock()
    return ctx


@pytest.fixture
def sink() -> Iterator[SandboxMTA]:
    with SandboxMTA(port=0, keep_bodies=False) as server:
        yield server


def _start_worker(ctx: Context, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "MAILCAST_DATABASE_URL": ctx.settings.database_url,
        "MAILCAST_SECRET_KEY": ctx.settings.secret_key or "",
        "MAILCAST_RELAY__PORT": str(port),
        "MAILCAST_SEND__LEASE_SECONDS": "1",
        "MAILCAST_SEND__BATCH_SIZE": "50",
        "MAILCAST_SEND__CONCURRENCY": "4",
        "MAILCAST_SEND__POLL_SECONDS": "0.1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "mailcast", "worker", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _in_flight(ctx: Context, delivery_id: int) -> int:
    with ctx.db.read() as conn:
        return message_store.count_in_flight(conn, delivery_id)


def _assert_not_sent_while_unsent(ctx: Context, delivery_id: int) -> None:
    d = deployment(ctx, delivery_id)
    if d.state is DeliveryState.SENT:
        with ctx.db.read() as conn:
            assert counter_store.recount_statuses(conn, delivery_id)[MessageStatus.QUEUED] == 0


def _run_to_the_end(ctx: Context, port: int) -> None:
    worker = _start_worker(ctx, port, "--until-idle")
    _, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr.decode()


def test_sigkill_at_random_points_loses_nothing(
    live_ctx: Context, scenario: Scenario, sink: SandboxMTA
) -> None:
    ctx = live_ctx
    addresses = [f"r{n}@example.com" for n in range(RECIPIENTS)]
    scenario.audience(addresses)
    delivery_id = scenario.sending()
    rng = random.Random(20261123)
    in_flight_at_kills = []

    for _ in range(KILLS):
        worker = _start_worker(ctx, sink.port)
        before = sink.count
        _wait_until(lambda: sink.count > before or worker.poll() is not None)  # noqa: B023
        time.sleep(rng.uniform(0.0, 0.3))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        in_flight_at_kills.append(_in_flight(ctx, delivery_id))
        _assert_not_sent_while_unsent(ctx, delivery_id)

    _run_to_the_end(ctx, sink.port)

    received = sink.recipients_counter()
    assert set(received) == set(addresses), "every recipient received the message"
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= sum(in_flight_at_kills)
    d = deployment(ctx, delivery_id)
    assert d.state is DeliveryState.SENT
    assert d.counts.processed == d.counts.to_deliver == RECIPIENTS
    with ctx.db.read() as conn:
        recount = counter_store.recount_statuses(conn, delivery_id)
    assert recount[MessageStatus.SENT] == d.counts.sent == RECIPIENTS
    print(f"kills: in flight {in_flight_at_kills}, duplicates received {duplicates}")


def test_pause_then_resume_re_sends_nothing(
    live_ctx: Context, scenario: Scenario, sam: User, sink: SandboxMTA
) -> None:
    ctx = live_ctx
    addresses = [f"p{n}@example.com" for n in range(RECIPIENTS)]
    scenario.audience(addresses)
    delivery_id = scenario.sending()
    worker = _start_worker(ctx, sink.port)
    try:
        _wait_until(lambda: sink.count >= 300)
        pause_delivery(ctx, sam, delivery_id)
        _wait_until(lambda: _in_flight(ctx, delivery_id) == 0)
        at_pause = sink.count
        time.sleep(0.5)
        assert sink.count == at_pause, "nothing leaves a paused delivery"
        assert deployment(ctx, delivery_id).counts.queued > 0
        resume_delivery(ctx, sam, delivery_id)
        _wait_until(lambda: deployment(ctx, delivery_id).state is DeliveryState.SENT)
    finally:
        worker.kill()
        worker.wait()

    received = sink.recipients_counter()
    assert set(received) == set(addresses)
    assert max(received.values()) == 1, "no message was sent twice"


def test_two_workers_share_one_delivery_and_send_nothing_twice(
    live_ctx: Context, scenario: Scenario, sink: SandboxMTA
) -> None:
    ctx = live_ctx
    addresses = [f"w{n}@example.com" for n in range(RECIPIENTS)]
    scenario.audience(addresses)
    delivery_id = scenario.sending()

    workers = [_start_worker(ctx, sink.port, "--until-idle") for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]

    assert [w.returncode for w in workers] == [0, 0], [err.decode() for _, err in outputs]
    received = sink.recipients_counter()
    assert set(received) == set(addresses)
    assert max(received.values()) == 1
    with ctx.db.read() as conn:
        senders = message_store.relayed_by_worker(conn, delivery_id)
    assert len(senders) == 2 and min(senders.values()) > 0, senders
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT
