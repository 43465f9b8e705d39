"""The reports over the API: the same service as the dashboard's report page, and its CSVs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import get_args

import pytest
from api_helpers import CONTENT, World, assert_problem, running_app

from conftest import Scenario
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.exports import EXPORTS
from mailcast.store import messages as message_store
from mailcast.store.tracking import record_hits
from mailcast.tracking.recorder import Hit
from mailcast.tracking.tokens import TokenKind, TrackingToken
from mailcast.web.api.reports import ExportName

SHOP = "https://shop.example/sale"


@pytest.fixture
def world(ctx: Context, scenario: Scenario) -> Iterator[World]:
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


@pytest.fixture
def sent(world: World, mta: SandboxMTA) -> int:
    """Three delivered, one unknown user; two clicks of the shop by the first reader."""
    world.scenario.audience(
        ["r0@example.com", "r1@example.com", "r2@example.com", "unknown1@x.org"]
    )
    delivery_id = world.scenario.sending(**CONTENT)
    send_until_idle(world.ctx)
    with world.ctx.db.write() as conn:
        first = message_store.sending_log(conn, delivery_id)[0]["id"]
        now = world.ctx.clock.now()
        token = TrackingToken(TokenKind.CLICK, first, now, link=1, url=SHOP)
        hits = [Hit(token, now, False, "Mozilla/5.0", "127.0.0.1")] * 2
        record_hits(conn, hits, now)
    return delivery_id


def test_the_reports_say_clicks_per_link_who_clicked_and_bounces(world: World, sent: int) -> None:
    response = world["marie"].get(f"/api/deliveries/{sent}/reports")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["links"] == [{"url": SHOP, "unique_clicks": 1, "total_clicks": 2, "rate": 33.33}]
    assert len(body["clicked"]) == body["unique_clicks"] == 1
    assert body["click_rate"] == 33.33 and body["unit"] == "minute"
    assert body["bounce_reasons"] == [
        {"failure_type": "hard", "failure_reason": "user_unknown", "messages": 1}
    ]
    assert [d["domain"] for d in body["bounce_domains"]] == ["x.org"]


def test_the_export_names_of_the_api_are_the_service_s() -> None:
    assert set(get_args(ExportName)) == set(EXPORTS)


def test_the_csv_exports_and_their_refusals(world: World, sent: int) -> None:
    answer = world["marie"].get(f"/api/deliveries/{sent}/exports/clicked")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [int(row["clicks"]) for row in rows] == [2]
    assert world["marie"].get(f"/api/deliveries/{sent}/exports/nothing").status_code == 422
    assert_problem(world["marie"].get("/api/deliveries/999/exports/sending"), 404)
    for path in ("reports", "exports/sending"):
        body = assert_problem(world["nobody"].get(f"/api/deliveries/{sent}/{path}"), 403)
        assert body["missing_role"] == "prepare_deliveries"
