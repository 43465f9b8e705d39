"""The report page in a real browser: a delivery watched while it is sent through the sandbox
MTA, then its clicks per link, who clicked, bounces by reason and domain, the tracking log's
people/machines filter and the CSV exports; and the refusal for a user without `read_logs`."""

from __future__ import annotations

import csv
import datetime as dt
import io

from dashboard_helpers import (
    BROWSER_FIXTURES,
    MAIL,
    log_in,
    screenshot,
    sending_worker,
    with_password,
)
from playwright.sync_api import Locator, Page, expect

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store import messages as message_store
from mailcast.store.tracking import record_hits
from mailcast.tracking.recorder import Hit
from mailcast.tracking.tokens import TokenKind, TrackingToken
from mailcast.tracking.unsubscribe import unsubscribe
from mailcast.users.service import add_user
from mailcast.web.dashboard.render import pct

SHOP, BLOG = "https://shop.example/sale", "https://blog.example/post"


browser, page, app_url = BROWSER_FIXTURES


def _hit(
    ctx: Context, kind: TokenKind, message_id: int, url: str = "", machine: bool = False
) -> None:
    at = ctx.clock.now()
    token = TrackingToken(kind, message_id, at, link=1 if url else 0, url=url)
    with ctx.db.write() as conn:
        record_hits(conn, [Hit(token, at, machine, "Mozilla/5.0", "127.0.0.1")], at)


def _figure(page: Page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').inner_text()


def _cells(table: Locator, column: int) -> list[str]:
    return table.locator(f"tbody tr td:nth-child({column})").all_inner_texts()


def test_a_watched_send_then_its_report_whose_numbers_agree(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock, app_url: str, page: Page
) -> None:
    ctx.settings.send.batch_size, ctx.settings.send.rate_per_second = 3, 3.0
    ctx.settings.send.poll_seconds = 0.2
    readers = [f"reader{n}@example.com" for n in range(7)]
    scenario.audience([*readers, "unknown1@example.com", "unknown2@bounce.example"])
    delivery_id = scenario.prepared(**MAIL, name="Autumn sale")

    with sending_worker(ctx):
        log_in(page, app_url, with_password(ctx, "sam"), path=f"/deliveries/{delivery_id}")
        page.locator("#action-confirm").click()
        page.locator("#dialog-confirm").get_by_role("button", name="OK").click()
        # Mid-send, read in one go: cards, bar, funnel and log come from the same refresh.
        seen = page.wait_for_function(
            """() => {
                const bar = document.getElementById("progress").value;
                if (!(bar > 0 && bar < 100)) return null;
                const log = [...document.querySelectorAll("table.log td .status")];
                return {
                    bar,
                    processed: document.querySelector('[data-kpi="processed"]').textContent,
                    funnel: document.querySelector('svg[aria-label="Delivery funnel"]').textContent,
                    handed: log.filter((s) => s.textContent !== "queued").length,
                };
            }""",
            timeout=30_000,
        ).json_value()
        processed = int(seen["processed"])
        assert seen["handed"] == processed
        assert seen["bar"] == round(100 * processed / 9, 1)
        assert f"{processed} · {pct(round(100 * processed / 9, 2))} of to deliver" in seen["funnel"]
        expect(page.locator("#progress-text")).to_have_text("100 %", timeout=30_000)
        expect(page.locator("#state-badge")).to_contain_text("sent")

    with ctx.db.read() as conn:
        log = {r["address"]: r["id"] for r in message_store.sending_log(conn, delivery_id)}
    clock.advance(dt.timedelta(minutes=5))
    for address in readers[:4]:
        _hit(ctx, TokenKind.OPEN, log[address])
    _hit(ctx, TokenKind.CLICK, log[readers[0]], SHOP)
    _hit(ctx, TokenKind.CLICK, log[readers[0]], SHOP)
    _hit(ctx, TokenKind.CLICK, log[readers[1]], SHOP)
    _hit(ctx, TokenKind.CLICK, log[readers[1]], BLOG)
    _hit(ctx, TokenKind.CLICK, log[readers[5]], SHOP, machine=True)  # a link scanner
    unsubscribe(ctx, log[readers[2]], clock.now(), "one-click")

    # The delivery page: the funnel's percentages are the cards' live rates.
    page.reload()
    expect(page.locator('[data-kpi="live_click_rate"]')).to_have_text("28.57 %")
    expect(page.locator("#rates-refreshed")).to_contain_text("no refresh yet")
    funnel = page.locator('svg[aria-label="Delivery funnel"]')
    expect(funnel).to_contain_text("2 · 28.57 % of delivered")  # clicked: 2 of the 7 delivered
    expect(funnel).to_contain_text("7 · 77.78 % of sent")
    expect(page.locator('[data-kpi="delivered_pct"]')).to_have_text("77.78 %")
    screenshot(page, "report-delivery-page.png")

    page.locator("#report-link").click()
    expect(page.get_by_role("heading", name="Report — Autumn sale")).to_be_visible()
    links = page.locator("#links")
    assert _cells(links, 1) == [SHOP, BLOG]
    assert _cells(links, 2) == ["2", "1"] and _cells(links, 3) == ["3", "1"]
    assert _cells(links, 4) == ["28.57 %", "14.29 %"]
    # Who clicked: as many people as the unique clicks, and the click rate is theirs.
    clicked = page.locator("#clicked")
    assert sorted(_cells(clicked, 1)) == readers[:2]
    assert _figure(page, "unique_clicks") == str(len(_cells(clicked, 1))) == "2"
    assert _figure(page, "click_rate") == "28.57 %"
    assert len(_cells(page.locator("#opened"), 1)) == int(_figure(page, "unique_opens")) == 4
    # Bounces by reason and by domain add up to the failed messages.
    reasons, domains = page.locator("#bounce-reasons"), page.locator("#bounce-domains")
    assert _cells(reasons, 2) == ["user unknown"]
    assert sum(int(n) for n in _cells(reasons, 3)) == int(_figure(page, "failed")) == 2
    assert sorted(_cells(domains, 1)) == ["bounce.example", "example.com"]
    assert sum(int(n) for n in _cells(domains, 2)) == 2
    expect(page.locator("#trend")).to_contain_text("Opens and clicks per minute")
    assert _cells(page.locator("#opt-outs"), 3) == [readers[2]]
    assert (_figure(page, "unsubscribed"), _figure(page, "complained")) == ("1", "0")
    screenshot(page, "report-links.png")

    with page.expect_download() as download:
        page.locator('a[href$="/export/clicked.csv"]').first.click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert sorted(row["address"] for row in rows) == readers[:2]

    # Who clicked one link: as many as its unique clicks, each with their clicks on it.
    links.get_by_role("link", name=BLOG).click()
    expect(page.locator("#clicked-link")).to_have_text(BLOG)
    expect(clicked.locator("tbody tr")).to_have_count(1)
    assert _cells(clicked, 1) == [readers[1]] and _cells(clicked, 4) == ["1"]
    screenshot(page, "report-who-clicked-link.png")
    links.get_by_role("link", name=SHOP).click()
    expect(page.locator("#clicked-link")).to_have_text(SHOP)
    expect(clicked.locator("tbody tr")).to_have_count(2)
    assert sorted(zip(_cells(clicked, 1), _cells(clicked, 4), strict=True)) == [
        (readers[0], "2"),
        (readers[1], "1"),
    ]

    # The tracking log shows addresses; the machines filter leaves only the scanner.
    page.goto(f"{app_url}/dashboard/deliveries/{delivery_id}?tab=tracking")
    expect(page.locator("table.log")).to_contain_text(readers[0])
    page.locator("#tracking-filter").get_by_role("link", name="machines").click()
    rows_shown = page.locator("table.log tbody tr")
    expect(rows_shown).to_have_count(1)
    expect(rows_shown).to_contain_text(readers[5])
    expect(rows_shown).to_contain_text("machine")
    screenshot(page, "report-tracking-machines.png")


def test_a_user_without_read_logs_is_refused_the_report_and_its_exports(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.prepared(**MAIL)
    add_user(ctx.db, "abe", [], None, ctx.clock)
    log_in(page, app_url, with_password(ctx, "abe"), path=f"/deliveries/{delivery_id}/report")

    expect(page.get_by_role("alert")).to_contain_text(
        "may not read_logs: the role 'prepare_deliveries' is missing"
    )
    expect(page.locator("#links")).to_have_count(0)
    answer = page.request.get(f"{app_url}/dashboard/deliveries/{delivery_id}/export/sending.csv")
    assert answer.status == 403 and "prepare_deliveries" in answer.text()
    screenshot(page, "report-refused.png")
