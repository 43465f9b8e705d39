"""The marketer reports: clicks per link, who clicked/opened, bounces, opt-outs, the time scale."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from stats_helpers import log_by_address

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import EventKind
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.exports import export_csv, links_csv
from mailcast.stats.reports import (
    DomainBounces,
    LinkRow,
    Reports,
    TimeUnit,
    delivery_reports,
    time_unit,
)
from mailcast.store.tracking import record_hits
from mailcast.tracking.recorder import Hit
from mailcast.tracking.tokens import TokenKind, TrackingToken
from mailcast.tracking.unsubscribe import unsubscribe
from mailcast.users.service import PermissionDenied, User, add_user

A, B, C = "ann@example.com", "=cmd@example.com", "cyd@example.org"
UNKNOWN = "unknown1@example.org"
SHOP, BLOG = "https://shop.example/sale", "https://blog.example/post"


def _hit(
    ctx: Context, kind: TokenKind, message_id: int, url: str = "", machine: bool = False
) -> None:
    at = ctx.clock.now()
    token = TrackingToken(kind, message_id, at, link=1 if url else 0, url=url)
    with ctx.db.write() as conn:
        record_hits(conn, [Hit(token, at, machine, "Mozilla/5.0", "127.0.0.1")], at)


def _played(ctx: Context, scenario: Scenario, clock: ManualClock, who: User) -> Reports:
    """Sent at 09:00; A clicks the shop twice, B the shop and the blog, a scanner C's shop."""
    scenario.audience([A, B, C, UNKNOWN])
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    log = log_by_address(ctx, delivery_id)
    clock.advance(dt.timedelta(minutes=4))
    for address in (A, B):
        _hit(ctx, TokenKind.OPEN, log[address]["id"])
    _hit(ctx, TokenKind.OPEN, log[C]["id"], machine=True)
    clock.advance(dt.timedelta(minutes=3))
    _hit(ctx, TokenKind.CLICK, log[A]["id"], SHOP)
    _hit(ctx, TokenKind.CLICK, log[A]["id"], SHOP)
    _hit(ctx, TokenKind.CLICK, log[B]["id"], SHOP)
    _hit(ctx, TokenKind.CLICK, log[B]["id"], BLOG)
    _hit(ctx, TokenKind.CLICK, log[C]["id"], SHOP, machine=True)
    unsubscribe(ctx, log[B]["id"], clock.now(), "one-click")
    return delivery_reports(ctx, who, delivery_id)


def test_clicks_per_link_and_who_clicked_agree_with_the_unique_clicks(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock, marie: User
) -> None:
    r = _played(ctx, scenario, clock, marie)

    assert (r.counts.sent, r.counts.failed, r.counts.unique_clicks) == (3, 1, 2)
    # Over the 3 delivered, as the click-through rate; the scanner's click left out.
    assert r.links == [LinkRow(SHOP, 2, 3, 66.67), LinkRow(BLOG, 1, 1, 33.33)]
    assert sorted(row["address"] for row in r.clicked) == [B, A]
    assert sorted(row["address"] for row in r.opened) == [B, A]
    assert len(r.clicked) == r.counts.unique_clicks and len(r.opened) == r.counts.unique_opens
    assert (r.kpis.open_rate, r.kpis.click_rate) == (66.67, 66.67)
    assert (r.unsubscribed, r.complained) == (1, 0)
    assert [e["address"] for e in r.opt_outs] == [B]


def test_who_clicked_one_link_and_its_export(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock, marie: User
) -> None:
    played = _played(ctx, scenario, clock, marie)

    shop = delivery_reports(ctx, marie, played.delivery_id, SHOP)
    assert sorted((row["address"], row["link_clicks"]) for row in shop.clicked) == [(B, 1), (A, 2)]
    assert shop.clickers == 2  # the link's unique clicks, as its row in the links table
    blog = delivery_reports(ctx, marie, played.delivery_id, BLOG)
    assert [row["address"] for row in blog.clicked] == [B] and blog.clickers == 1
    text = "".join(export_csv(ctx, marie, played.delivery_id, "clicked", BLOG))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(row["address"], row["link_clicks"]) for row in rows] == [("'" + B, "1")]


def test_bounces_by_reason_and_by_domain_add_up_to_the_failed(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock, marie: User
) -> None:
    r = _played(ctx, scenario, clock, marie)

    assert [(f.failure_type, f.failure_reason, f.messages) for f in r.failures] == [
        ("hard", "user_unknown", 1)
    ]
    assert r.domains == [DomainBounces("example.org", 2, 1, 1, 0)]
    assert sum(f.messages for f in r.failures) == sum(d.failed for d in r.domains) == 1


def test_the_time_scale_is_minutes_for_a_fresh_send_then_hours_then_days(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock, marie: User
) -> None:
    start = clock.now()
    assert time_unit(None, start) is TimeUnit.MINUTE
    assert time_unit(start, start + dt.timedelta(minutes=90)) is TimeUnit.MINUTE
    assert time_unit(start, start + dt.timedelta(hours=5)) is TimeUnit.HOUR
    assert time_unit(start, start + dt.timedelta(days=4)) is TimeUnit.DAY

    played = _played(ctx, scenario, clock, marie)
    fresh = played.series  # seen at 09:07
    assert fresh.unit is TimeUnit.MINUTE
    assert [(b.start.minute, b.opens, b.clicks) for b in fresh.buckets if b.opens or b.clicks] == [
        (4, 2, 0),
        (7, 0, 4),
    ]
    assert len(fresh.buckets) == 8  # 09:00 to 09:07, the quiet minutes included

    clock.advance(dt.timedelta(hours=6))
    later = delivery_reports(ctx, marie, played.delivery_id).series
    assert later.unit is TimeUnit.HOUR
    assert [(b.start.hour, b.opens, b.clicks) for b in later.buckets][:2] == [(9, 2, 4), (10, 0, 0)]
    assert len(later.buckets) == 7  # 09:00 to 15:00

    clock.advance(dt.timedelta(days=5))
    days = delivery_reports(ctx, marie, played.delivery_id).series
    assert days.unit is TimeUnit.DAY
    assert [(b.start.day, b.opens) for b in days.buckets] == [
        (d, 2 if d == 5 else 0) for d in range(5, 11)
    ]


def test_csv_exports_quote_formula_cells_and_name_every_column(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock, marie: User
) -> None:
    r = _played(ctx, scenario, clock, marie)

    opened = list(
        csv.DictReader(io.StringIO("".join(export_csv(ctx, marie, r.delivery_id, "opened"))))
    )
    assert sorted(row["address"] for row in opened) == ["'" + B, A]  # never run as a formula
    clicks = list(
        csv.DictReader(io.StringIO("".join(export_csv(ctx, marie, r.delivery_id, "tracking"))))
    )
    assert {row["address"] for row in clicks} == {A, "'" + B, C}
    machines = "".join(export_csv(ctx, marie, r.delivery_id, "tracking-machines"))
    assert machines.count(C) == 2 and A not in machines
    rows = list(csv.reader(io.StringIO(links_csv([LinkRow("=HYPERLINK(1)", 1, 1, 5.0), *r.links]))))
    assert rows[0] == ["url", "unique_clicks", "total_clicks", "rate_pct"]
    assert rows[1][0] == "'=HYPERLINK(1)" and rows[2] == [SHOP, "2", "3", "66.67"]


def test_a_user_without_read_logs_is_refused_the_reports_and_the_exports(
    ctx: Context, scenario: Scenario, clock: ManualClock
) -> None:
    scenario.audience([A])
    delivery_id = scenario.prepared()
    nobody = add_user(ctx.db, "nobody", [], None, clock)

    with pytest.raises(PermissionDenied, match="the role 'prepare_deliveries' is missing"):
        delivery_reports(ctx, nobody, delivery_id)
    with pytest.raises(PermissionDenied, match="may not read_logs"):
        export_csv(ctx, nobody, delivery_id, "sending")


def test_every_kind_of_event_is_in_the_opt_out_export_once(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock, marie: User
) -> None:
    r = _played(ctx, scenario, clock, marie)
    text = "".join(export_csv(ctx, marie, r.delivery_id, "opt-outs"))
    assert text.count(EventKind.UNSUBSCRIBED.value) == 1
