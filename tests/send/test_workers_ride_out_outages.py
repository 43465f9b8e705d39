"""Three real worker processes and a relay that goes down, comes back and throttles: the send
pauses and resumes by itself, nothing is lost or sent twice, no address is blamed."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest
from scripted_relay import Script, ScriptedRelay
from worker_helpers import start_mailcast, wait_until

from conftest import Scenario
from mailcast.clock import SystemClock
from mailcast.context import Context
from mailcast.domain import DeliveryState, PauseCause
from mailcast.stats.deployment import deployment
from mailcast.store import addresses as address_store

RECIPIENTS = [f"o{n}@example.com" for n in range(120)] + [f"t{n}@busy.example" for n in range(30)]
WORKER = {
    "max_consecutive_errors": 3,
    "probe_first_seconds": 0.2,
    "probe_max_seconds": 1,
    "concurrency": 3,
}


@pytest.mark.timeout(120)
def test_three_workers_pause_on_an_outage_and_resume_by_themselves(
    ctx: Context, scenario: Scenario
) -> None:
    ctx.clock = SystemClock()  # the workers run on the real time: so must the delivery
    scenario.audience(RECIPIENTS)
    port = _free_port()
    workers = [start_mailcast(ctx, port, "worker", **WORKER) for _ in range(3)]
    try:
        delivery_id = scenario.sending()
        wait_until(lambda: deployment(ctx, delivery_id).paused_by is PauseCause.RELAY)
        throttled = Script("451 4.7.1 rate limited, try again in 1 second", times=3)
        with ScriptedRelay({"busy.example": throttled}, port=port) as relay:
            wait_until(lambda: deployment(ctx, delivery_id).state is DeliveryState.SENT)
    finally:
        _stop(workers)
    assert relay.accepted() == dict.fromkeys(RECIPIENTS, 1)
    assert relay.refusals["busy.example"] == 3  # backoff engaged, then recovered
    with ctx.db.read() as conn:
        assert not address_store.count_by_status(conn)
    counts = deployment(ctx, delivery_id).counts
    assert (counts.failed, counts.processed) == (0, len(RECIPIENTS))


def _stop(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
