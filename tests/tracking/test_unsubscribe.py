"""Unsubscribing: RFC 8058 one-click without cookies, a GET never does it, next time excluded."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from tracked import A, B, Tracked, send

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import EventKind, ExclusionReason
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store import deliveries as delivery_store
from mailcast.tracking.unsubscribe import unsubscribe
from mailcast.web.app import create_app

ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def sent(ctx: Context, clock: ManualClock, scenario: Scenario, mta: SandboxMTA) -> Tracked:
    return send(ctx, clock, scenario, [A, B])


@pytest.fixture
def client(ctx: Context) -> TestClient:
    return TestClient(create_app(ctx))


def _unsubscribed(sent: Tracked) -> list[tuple[int, str]]:
    return [
        (e["message_id"], e["detail"]["source"])
        for e in sent.events()
        if e["kind"] == EventKind.UNSUBSCRIBED
    ]


def test_one_click_post_unsubscribes_without_cookies(
    ctx: Context, sent: Tracked, client: TestClient
) -> None:
    answer = client.post(
        sent.unsubscribe(A), content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK
    )
    assert answer.status_code == 200 and not client.cookies
    assert not sent.subscribed(A) and sent.subscribed(B)
    assert sent.message(A)["unsubscribed_at"] == ctx.clock.now()
    assert _unsubscribed(sent) == [(sent.ids[A], "one-click")]
    assert sent.counters()["unsubscribed"] == 1


def test_a_get_alone_never_unsubscribes(sent: Tracked, client: TestClient) -> None:
    url = sent.unsubscribe(A)
    for _ in range(3):  # a link scanner may fetch it again and again
        page = client.get(url)
        assert page.status_code == 200
    assert '<form method="post">' in page.text
    assert sent.subscribed(A) and _unsubscribed(sent) == []
    assert sent.counters()["unsubscribed"] == 0

    confirmed = client.post(url, data={"confirm": "yes"})  # the page's button
    assert confirmed.status_code == 200
    assert not sent.subscribed(A) and _unsubscribed(sent) == [(sent.ids[A], "page")]


def test_unsubscribing_twice_counts_once(ctx: Context, sent: Tracked, client: TestClient) -> None:
    url = sent.unsubscribe(A)
    for _ in range(2):
        assert client.post(url, content=b"List-Unsubscribe=One-Click").status_code == 200
    assert unsubscribe(ctx, sent.ids[A], ctx.clock.now(), "admin") is False
    assert sent.counters()["unsubscribed"] == 1 and len(_unsubscribed(sent)) == 1


def test_a_forged_unsubscribe_changes_nothing(sent: Tracked, client: TestClient) -> None:
    url = sent.unsubscribe(A)
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert client.post(forged, content=b"List-Unsubscribe=One-Click").status_code == 404
    assert client.get(forged).status_code == 404
    assert sent.subscribed(A) and _unsubscribed(sent) == []


def test_one_click_keeps_working_after_the_links_expire(
    ctx: Context, clock: ManualClock, sent: Tracked, client: TestClient
) -> None:
    url = sent.unsubscribe(A)
    clock.advance(dt.timedelta(days=ctx.settings.tracking.resource_validity_days + 30))
    assert client.get(url).status_code == 410
    assert client.post(url, content=b"List-Unsubscribe=One-Click").status_code == 200
    assert not sent.subscribed(A)


def test_the_next_preparation_excludes_the_unsubscribed_profile(
    ctx: Context, sent: Tracked, scenario: Scenario, client: TestClient
) -> None:
    client.post(sent.unsubscribe(A), content=b"List-Unsubscribe=One-Click")

    next_delivery = scenario.prepared()
    with ctx.db.read() as conn:
        excluded = delivery_store.exclusion_log(conn, next_delivery)
    assert [(row["address"], row["reason"]) for row in excluded] == [
        (A, ExclusionReason.DENYLISTED)
    ]
    assert list(Tracked(ctx, next_delivery).ids) == [B]
