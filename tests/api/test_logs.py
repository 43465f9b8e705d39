"""The logs over the API: keyset pages, filters, the streamed CSV, exclusions, tracking, events."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import CONTENT, World, assert_problem, running_app
from fastapi.testclient import TestClient

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.sandbox.rules import Rule, prefix_rules
from mailcast.send.engine import send_until_idle
from mailcast.store import logs as log_store
from mailcast.tracking.tokens import TokenKind, TrackingToken
from mailcast.web.api import logs as log_routes

DELIVERED = [f"reader{n}@example.com" for n in range(7)]
UNKNOWN = ["unknown1@example.com", "unknown2@example.com"]
FULL = ["full1@example.com"]
TWIN = "Reader0@example.com"  # the same address as reader0 once case-folded: a duplicate
CLICKED = "https://example.com/x"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"


@pytest.fixture
def world(ctx: Context, scenario: Scenario) -> Iterator[World]:
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


@pytest.fixture
def sent(world: World, clock: ManualClock, mta: SandboxMTA) -> int:
    """Ten messages handed to the sandbox: seven accepted, two unknown users, a full mailbox;
    a duplicate and a quarantined address left out at preparation."""
    world.quarantine("blocked@example.com")
    world.scenario.audience([*DELIVERED, *UNKNOWN, *FULL, TWIN, "blocked@example.com"])
    delivery_id = world.scenario.sending(**CONTENT)
    send_until_idle(world.ctx)
    clock.advance(dt.timedelta(minutes=5))
    return delivery_id


def _all_pages(world: World, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages, after = [], 0
    while True:
        response = world["marie"].get(path, params={**params, "after": after})
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        if body["next"] is None:
            return pages
        after = body["next"]


def test_keyset_pages_cover_the_sending_log_exactly_once(world: World, sent: int) -> None:
    pages = _all_pages(world, f"/api/deliveries/{sent}/messages", limit=3)
    assert [len(page) for page in pages] == [3, 3, 3, 1]
    ids = [line["id"] for page in pages for line in page]
    assert ids == sorted(set(ids))
    addresses = sorted(line["address"] for page in pages for line in page)
    assert addresses == sorted([*DELIVERED, *UNKNOWN, *FULL])


def test_a_page_exactly_full_at_the_end_is_followed_by_an_empty_one(
    world: World, sent: int
) -> None:
    pages = _all_pages(world, f"/api/deliveries/{sent}/messages", limit=5)
    assert [len(page) for page in pages] == [5, 5, 0]


def test_the_sending_log_filters_by_status_failure_type_and_reason(world: World, sent: int) -> None:
    path = f"/api/deliveries/{sent}/messages"

    def addresses(**params: Any) -> list[str]:
        return sorted(
            line["address"] for page in _all_pages(world, path, **params) for line in page
        )

    assert addresses(status="sent") == sorted(DELIVERED)
    assert addresses(status="failed") == sorted(UNKNOWN)
    assert addresses(status="queued") == FULL  # a 4xx at the hand-off waits for its retry
    assert addresses(failure_type="hard") == sorted(UNKNOWN)
    assert addresses(failure_type="soft") == FULL
    assert addresses(failure_reason="user_unknown") == sorted(UNKNOWN)
    assert addresses(failure_reason="mailbox_full") == FULL
    assert addresses(status=["failed", "queued"], limit=1) == sorted([*UNKNOWN, *FULL])
    assert addresses(status=["pending", "not_sent"]) == []
    line = world["marie"].get(path, params={"failure_reason": "user_unknown"}).json()["items"][0]
    assert line["smtp_code"] == 550 and "5.1.1" in line["smtp_response"]


def test_an_unknown_filter_value_is_a_clear_422(world: World, sent: int) -> None:
    response = world["marie"].get(f"/api/deliveries/{sent}/messages?status=lost")
    body = assert_problem(response, 422)
    assert "status" in body["detail"]


def test_the_logs_of_a_delivery_that_does_not_exist_are_404(world: World) -> None:
    for tail in ("messages", "messages.csv", "exclusions", "tracking", "events"):
        assert_problem(world["marie"].get(f"/api/deliveries/999/{tail}"), 404)
    assert_problem(world["marie"].get("/api/messages/999/events"), 404)


def test_reading_logs_needs_the_role(world: World, sent: int) -> None:
    for tail in ("messages", "messages.csv", "exclusions", "tracking", "events", "report"):
        body = assert_problem(world["nobody"].get(f"/api/deliveries/{sent}/{tail}"), 403)
        assert body["missing_role"] == "prepare_deliveries"


def test_the_csv_export_has_a_header_and_every_filtered_line(world: World, sent: int) -> None:
    path = f"/api/deliveries/{sent}/messages.csv?status=failed&status=queued"
    response = world["marie"].get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"delivery-{sent}-sending-log.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == list(log_store.SENDING_LOG_COLUMNS)
    assert sorted(row["address"] for row in rows) == sorted([*UNKNOWN, *FULL])
    assert {row["status"] for row in rows} == {"failed", "queued"}
    assert {row["failure_type"] for row in rows} == {"hard", "soft"}


def test_the_csv_export_is_streamed_a_page_at_a_time(
    world: World, sent: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_routes, "CSV_PAGE", 4)
    path = f"/api/deliveries/{sent}/messages.csv"
    headers = {"Authorization": f"Bearer {world['marie'].token}"}
    with world.client.stream("GET", path, headers=headers) as response:
        assert "content-length" not in response.headers
        chunks = [chunk for chunk in response.iter_raw() if chunk]
    # The header, then one chunk per page of 4 lines (4, 4, 2): never the whole log at once.
    assert [chunk.count(b"\n") for chunk in chunks] == [1, 4, 4, 2]


def test_the_exclusion_log_counts_per_reason(world: World, sent: int) -> None:
    body = world["marie"].get(f"/api/deliveries/{sent}/exclusions").json()
    assert body["counts"] == {"duplicate": 1, "quarantined": 1}
    assert sorted((e["reason"], e["address"]) for e in body["items"]) == [
        ("duplicate", TWIN),
        ("quarantined", "blocked@example.com"),
    ]
    only = world["marie"].get(f"/api/deliveries/{sent}/exclusions?reason=duplicate").json()
    assert [e["reason"] for e in only["items"]] == ["duplicate"]
    assert only["counts"] == body["counts"]


def _hit(client: TestClient, world: World, delivery_id: int, kind: TokenKind, to: str) -> None:
    """Open or click as the reader of `to` would, through the app's tracking routes."""
    log = world["marie"].get(f"/api/deliveries/{delivery_id}/messages").json()["items"]
    message_id = next(line["id"] for line in log if line["address"] == to)
    click = kind is TokenKind.CLICK
    token = world.ctx.token_signer.sign(
        TrackingToken(kind, message_id, world.ctx.clock.now(), int(click), CLICKED if click else "")
    )
    path = f"/t/c/{token}" if click else f"/t/o/{token}.gif"
    response = client.get(path, headers={"User-Agent": BROWSER}, follow_redirects=False)
    assert response.status_code in (200, 302, 303, 307)


def test_the_tracking_log_and_the_events(world: World, sent: int) -> None:
    # Hits are written by the app that answered them, at the latest when it stops.
    with running_app(world.ctx) as reader:
        _hit(reader, world, sent, TokenKind.OPEN, DELIVERED[1])
        _hit(reader, world, sent, TokenKind.CLICK, DELIVERED[1])
        _hit(reader, world, sent, TokenKind.OPEN, DELIVERED[2])
    marie = world["marie"]
    tracking = marie.get(f"/api/deliveries/{sent}/tracking").json()["items"]
    assert [(e["kind"], e["machine"]) for e in tracking] == [
        ("opened", False),
        ("clicked", False),
        ("opened", False),
    ]
    clicks = marie.get(f"/api/deliveries/{sent}/tracking?kind=clicked").json()["items"]
    assert [e["detail"]["url"] for e in clicks] == [CLICKED]
    relayed = marie.get(f"/api/deliveries/{sent}/events?kind=relayed").json()["items"]
    assert len(relayed) == len(DELIVERED)
    for kind, failure_type in (("bounced", "hard"), ("deferred", "soft")):
        lines = marie.get(f"/api/deliveries/{sent}/messages?failure_type={failure_type}").json()
        events = marie.get(f"/api/deliveries/{sent}/events?kind={kind}").json()["items"]
        assert {e["message_id"] for e in events} == {line["id"] for line in lines["items"]}
    message_id = tracking[0]["message_id"]
    own = marie.get(f"/api/messages/{message_id}/events").json()["items"]
    assert [e["kind"] for e in own] == ["relayed", "opened", "clicked"]
    assert {e["message_id"] for e in own} == {message_id}


# --- The CSV export is safe to open in a spreadsheet --------------------------------------

FORMULAS = ["=cmd|'/Ccalc'!A0@example.com", "+1+1@example.com", "-2+3@example.com"]
FORMULA_REPLY = "@SUM(1+1)*cmd|' /C calc'!A0 refused"


def test_the_csv_export_never_starts_a_cell_with_a_formula(world: World) -> None:
    refusing = prefix_rules((Rule("=cmd", 550, FORMULA_REPLY),))
    with SandboxMTA(port=0, rules=refusing) as mta:
        world.ctx.settings.relay.port = mta.port
        world.scenario.audience([*FORMULAS, "plain@example.com"])
        delivery_id = world.scenario.sending(**CONTENT)
        send_until_idle(world.ctx)
    path = f"/api/deliveries/{delivery_id}/messages"
    logged = {line["id"]: line for line in world["marie"].get(path).json()["items"]}
    exported = list(csv.DictReader(io.StringIO(world["marie"].get(f"{path}.csv").text)))

    # Each cell that a spreadsheet would run is the logged text after a quote; others as is.
    by_id = {int(row["id"]): row for row in exported}
    assert sorted(line["address"] for line in logged.values()) == sorted(
        [*FORMULAS, "plain@example.com"]
    )
    for message_id, line in logged.items():
        for column in ("address", "smtp_response"):
            text = line[column] or ""
            quoted = "'" + text if text[:1] in ("=", "+", "-", "@") else text
            assert by_id[message_id][column] == quoted, column
    assert any(line["smtp_response"] == FORMULA_REPLY for line in logged.values())
    cells = [cell for row in exported for cell in row.values()]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
