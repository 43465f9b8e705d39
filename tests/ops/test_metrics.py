"""/metrics as Prometheus scrapes it: figures after real sends and bounces, in the text format."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_text import Scrape, parse

from bounce_mail import dsn, hand_over, sent, vacation
from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import DeliveryState, FeedbackMode
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.store import messages as message_store
from mailcast.web.app import create_app

LATENCY = "mailcast_relay_latency_seconds"


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as test_client:
        yield test_client


@pytest.fixture
def receiver(ctx: Context) -> Iterator[BounceReceiver]:
    with BounceReceiver(ctx, port=0) as server:
        yield server


def scrape(client: TestClient) -> Scrape:
    response = client.get("/metrics")
    assert response.status_code == 200
    return parse(response.text)


def test_the_scrape_is_the_text_format_with_help_and_type_for_every_family(
    client: TestClient,
) -> None:
    response = client.get("/metrics")

    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    found = parse(response.text)
    assert found.types == {
        "mailcast_messages_relayed_total": "counter",
        "mailcast_bounces_total": "counter",
        "mailcast_queue_depth": "gauge",
        "mailcast_deliveries": "gauge",
        "mailcast_deliveries_paused": "gauge",
        "mailcast_bounce_reports": "gauge",
        LATENCY: "histogram",
    }
    assert found.helps.keys() == found.types.keys()
    assert "per process" in found.helps[LATENCY].lower()
    # Every label value is shown, even at zero, so that rate() and alerts see the series.
    assert found.by_label("mailcast_bounces_total", "type") == {
        "hard": 0,
        "soft": 0,
        "ignored": 0,
    }
    assert set(found.by_label("mailcast_deliveries", "state")) == {s.value for s in DeliveryState}


def test_relayed_and_bounces_follow_a_real_send_its_bounces_and_a_retry(
    ctx: Context,
    scenario: Scenario,
    mta: SandboxMTA,
    receiver: BounceReceiver,
    client: TestClient,
    clock: ManualClock,
) -> None:
    scenario.audience(["a@example.com", "b@example.com", "unknown@example.com", "full@x.org"])
    legacy = scenario.sending()
    scenario.audience(["e1@example.com", "e2@example.com"], list_name="efs")
    scenario.sending(list_name="efs", feedback_mode=FeedbackMode.EFS)

    send_until_idle(ctx)

    after_send = scrape(client)
    relayed = after_send.by_label("mailcast_messages_relayed_total", "mode")
    assert relayed == {"legacy": 2, "efs": 2}  # the MTA refused unknown@ (5xx) and full@ (4xx)
    bounces = after_send.by_label("mailcast_bounces_total", "type")
    assert bounces == {"hard": 1, "soft": 1, "ignored": 0}
    assert after_send.value("mailcast_queue_depth", state="waiting") == 1  # full@'s retry
    assert after_send.value("mailcast_deliveries", state="sent") == 2

    # The MTA bounces b@ later, and a@'s out-of-office reply comes back: both over SMTP.
    messages = sent(ctx, legacy)
    hand_over(receiver, dsn(messages["b@example.com"]), [messages["b@example.com"].return_path])
    hand_over(
        receiver, vacation(messages["a@example.com"]), [messages["a@example.com"].return_path]
    )

    after_bounce = scrape(client)
    bounces = after_bounce.by_label("mailcast_bounces_total", "type")
    assert bounces == {"hard": 2, "soft": 1, "ignored": 1}
    assert after_bounce.value("mailcast_bounce_reports", outcome="applied") == 2
    # A bounce after the hand-off does not take back that the relay accepted the message.
    assert after_bounce.by_label("mailcast_messages_relayed_total", "mode")["legacy"] == 2

    # full@ has room again: its retry is accepted, and counts once as relayed.
    mta.handler.rules = lambda address: None
    clock.advance(dt.timedelta(hours=1))
    send_until_idle(ctx)

    after_retry = scrape(client)
    relayed = after_retry.by_label("mailcast_messages_relayed_total", "mode")
    assert relayed == {"legacy": 3, "efs": 2}
    assert after_retry.value("mailcast_queue_depth", state="waiting") == 0


def test_queue_depth_counts_confirmed_deliveries_and_the_messages_in_flight(
    ctx: Context, scenario: Scenario, client: TestClient, clock: ManualClock
) -> None:
    scenario.audience([f"r{n}@example.com" for n in range(5)])
    scenario.prepared()  # prepared, not confirmed: nothing is queued for sending yet
    assert scrape(client).by_label("mailcast_queue_depth", "state") == {
        "waiting": 0,
        "in_flight": 0,
    }

    sending = scenario.sending()
    now = clock.now()
    with ctx.db.write() as conn:  # a worker claims a batch, as the engine does
        message_store.claim_batch(
            conn, sending, "worker-1", now, now + dt.timedelta(minutes=1), limit=2
        )

    found = scrape(client)
    assert found.by_label("mailcast_queue_depth", "state") == {"waiting": 3, "in_flight": 2}
    assert found.value("mailcast_deliveries", state="sending") == 1
    assert found.value("mailcast_deliveries", state="ready") == 1


def test_the_latency_histogram_counts_every_hand_off_in_cumulative_buckets(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, client: TestClient
) -> None:
    before = scrape(client)
    scenario.audience(["a@example.com", "b@example.com", "c@example.com", "unknown@example.com"])
    scenario.sending()

    send_until_idle(ctx)

    after = scrape(client)
    # The histogram is the process's own: other tests' hand-offs are in it too.
    count = after.value(f"{LATENCY}_count") - before.value(f"{LATENCY}_count")
    assert count == 4  # three accepted and one refused: four SMTP transactions
    assert after.value(f"{LATENCY}_sum") > before.value(f"{LATENCY}_sum")
    buckets = after.buckets(LATENCY)
    counts = [n for _, n in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    assert buckets[-1] == (float("inf"), after.value(f"{LATENCY}_count"))
    added = [n - m for (_, n), (_, m) in zip(buckets, before.buckets(LATENCY), strict=True)]
    assert added[-1] == 4
    assert added == sorted(added)


def test_a_metrics_token_is_asked_for_when_one_is_set(ctx: Context, client: TestClient) -> None:
    ctx.settings.web.metrics_token = "scrape-secret"

    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})

    for refused in (missing, wrong):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "mailcast_" not in refused.text
    assert right.status_code == 200
    assert "mailcast_messages_relayed_total" in parse(right.text).types
