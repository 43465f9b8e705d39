"""Duplicates are visible: a message handed over again after its worker died unrecorded shows
as "relayed more than once" in the sending log, the report and the Deployment block.

Each hand-off is counted before its DATA; a retry after a soft bounce is a new attempt by
design and is not counted as a re-send.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from worker_helpers import CountingRelay, finish, sending_log, start_mailcast, wait_until

from conftest import Scenario
from mailcast.clock import ManualClock, SystemClock
from mailcast.context import Context
from mailcast.domain import DeliveryState
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.stats.report import delivery_report
from mailcast.store import messages as message_store
from mailcast.users.service import User, create_token
from mailcast.users.sessions import SESSION_COOKIE, open_session
from mailcast.web.app import create_app

CONCURRENCY = 4
SETTINGS = {"lease_seconds": 1, "concurrency": CONCURRENCY, "batch_size": 10}


@pytest.fixture
def live_ctx(ctx: Context) -> Context:
    """The processes run on the system clock: so must the delivery's dates."""
    ctx.clock = SystemClock()
    return ctx


def test_a_worker_killed_in_data_shows_those_messages_relayed_more_than_once(
    live_ctx: Context, scenario: Scenario, marie: User
) -> None:
    ctx = live_ctx
    addresses = [f"k{n}@example.com" for n in range(40)]
    scenario.audience(addresses)
    delivery_id = scenario.sending()
    with CountingRelay(held=True) as relay:
        # Every sending task has its message's DATA at the relay, which holds the reply.
        worker = start_mailcast(ctx, relay.port, "worker", **SETTINGS)
        wait_until(lambda: relay.count() == CONCURRENCY or worker.poll() is not None)
        worker.kill()
        worker.wait()
        relay.release()
        finish(start_mailcast(ctx, relay.port, "worker", "--until-idle", **SETTINGS))
        received = relay.received()

    assert set(received) == set(addresses)
    twice = {address for address, n in received.items() if n > 1}
    assert len(twice) == CONCURRENCY and max(received.values()) == 2
    log = sending_log(ctx, delivery_id)
    for address, line in log.items():
        relayed_again = address in twice
        assert (line["attempts"], line["relay_attempts"]) == (1, 2 if relayed_again else 1)
        assert line["resends"] == int(relayed_again)
    block = deployment(ctx, delivery_id)
    assert block.state is DeliveryState.SENT
    assert block.relayed_more_than_once == delivery_report(ctx, delivery_id).relayed_more_than_once
    assert block.relayed_more_than_once == len(twice)
    _operator_sees(ctx, marie, delivery_id, twice)


def _operator_sees(ctx: Context, user: User, delivery_id: int, twice: set[str]) -> None:
    """The CLI, the API and the dashboard all say how many were relayed more than once."""
    shown = re.compile(rf"Relayed more than once\s*│\s*{len(twice)}\s*│")
    assert shown.search(_mailcast(ctx, "deliveries", "status", str(delivery_id)))
    assert shown.search(_mailcast(ctx, "deliveries", "report", str(delivery_id)))

    token = create_token(ctx.db, user, None, ctx.clock)
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as client:
        api = {"Authorization": f"Bearer {token}"}
        delivery = client.get(f"/api/deliveries/{delivery_id}", headers=api).json()
        assert delivery["deployment"]["relayed_more_than_once"] == len(twice)
        report_json = client.get(f"/api/deliveries/{delivery_id}/report", headers=api).json()
        assert report_json["relayed_more_than_once"] == len(twice)
        page = client.get(f"/api/deliveries/{delivery_id}/messages?limit=100", headers=api)
        lines = {line["address"]: line for line in page.json()["items"]}
        assert {a for a, line in lines.items() if line["relay_attempts"] == 2} == twice
        csv_lines = client.get(f"/api/deliveries/{delivery_id}/messages.csv", headers=api).text
        header = csv_lines.splitlines()[0].split(",")
        assert {"attempts", "relay_attempts", "resends"} <= set(header)

        cookie, _ = open_session(ctx, user, None, None)
        client.cookies.set(SESSION_COOKIE, cookie)
        html = client.get(f"/dashboard/deliveries/{delivery_id}").text
        assert "<dt>Relayed more than once</dt>" in html
        assert f'data-kpi="relayed_more_than_once">{len(twice)}<' in html
        assert html.count(">relayed more than once</span>") == len(twice)
        live = client.get(f"/dashboard/deliveries/{delivery_id}/deployment.json").json()
        assert live["relayed_more_than_once"] == len(twice)


def _mailcast(ctx: Context, *args: str) -> str:
    env = os.environ | {
        "MAILCAST_DATABASE_URL": ctx.settings.database_url,
        "MAILCAST_SECRET_KEY": ctx.settings.secret_key or "",
        "MAILCAST_CONFIG": "/nonexistent/mailcast.toml",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "mailcast", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_lease_run_out_after_begun_hand_offs_counts_only_those_as_relayed_again(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    addresses = [f"l{n}@example.com" for n in range(6)]
    scenario.audience(addresses)
    delivery_id = scenario.sending()
    # A worker claims four messages, begins handing over two, and dies unrecorded.
    now = clock.now()
    with ctx.db.write() as conn:
        claimed = message_store.claim_batch(
            conn, delivery_id, "dead", now, now + dt.timedelta(seconds=60), 4
        )
        begun = message_store.begin_hand_offs(conn, "dead", [m.id for m in claimed[:2]])
    assert begun == {m.id for m in claimed[:2]}

    clock.advance(dt.timedelta(seconds=61))
    send_until_idle(ctx)

    assert mta.recipients_counter() == Counter(addresses)
    log = sending_log(ctx, delivery_id)
    again = {m.address for m in claimed[:2]}
    assert {a for a, line in log.items() if line["relay_attempts"] == 2} == again
    assert {a for a, line in log.items() if line["resends"]} == again
    assert {line["attempts"] for line in log.values()} == {1}
    assert deployment(ctx, delivery_id).relayed_more_than_once == 2
    assert delivery_report(ctx, delivery_id).relayed_more_than_once == 2


def test_a_retry_after_a_soft_bounce_is_not_a_re_send(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    scenario.audience(["ok@example.com", "full@example.com"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    mta.handler.rules = lambda address: None  # the mailbox has room again
    clock.advance(dt.timedelta(hours=1))
    send_until_idle(ctx)

    retried = sending_log(ctx, delivery_id)["full@example.com"]
    assert (retried["attempts"], retried["relay_attempts"], retried["resends"]) == (2, 2, 0)
    assert deployment(ctx, delivery_id).relayed_more_than_once == 0
    assert delivery_report(ctx, delivery_id).relayed_more_than_once == 0


def test_a_message_the_lease_took_back_from_a_live_worker_is_not_sent_by_it(
    ctx: Context, scenario: Scenario, clock: ManualClock
) -> None:
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = scenario.sending()
    now = clock.now()
    with ctx.db.write() as conn:
        slow = message_store.claim_batch(conn, delivery_id, "slow", now, now, 2)
        # Its lease ran out; another worker took the messages back.
        message_store.release_expired_leases(conn, now + dt.timedelta(seconds=1))
        taken = message_store.claim_batch(conn, delivery_id, "other", now, now, 1)
        begun = message_store.begin_hand_offs(conn, "slow", [m.id for m in slow])
    assert begun == set(), "neither message is the slow worker's to hand over any more"
    assert [m.id for m in taken] == [slow[0].id]
