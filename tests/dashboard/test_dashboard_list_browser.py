"""The deliveries list in Debian's chromium: search, state filter, pages, recurring groups."""

from __future__ import annotations

from dashboard_helpers import OUTPUT, chromium, fresh_page, log_in, serving, with_password
from list_data import DRAFTS, ERROR, many_deliveries
from playwright.sync_api import expect

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.web.dashboard.delivery_list import PAGE_SIZE


def test_a_marketer_searches_filters_and_pages_the_deliveries(
    ctx: Context, clock: ManualClock, scenario: Scenario
) -> None:
    many_deliveries(ctx, clock, scenario)
    OUTPUT.mkdir(exist_ok=True)
    with serving(ctx) as base, chromium() as browser, fresh_page(browser) as page:
        log_in(page, base, with_password(ctx, "marie"))
        rows = page.locator("#deliveries tbody tr")
        expect(rows).to_have_count(PAGE_SIZE)
        spring = rows.filter(has_text="Spring sale")
        expect(spring.locator('[data-rate="opens"]')).to_have_text("50 %")
        expect(spring.locator('[data-rate="clicks"]')).to_have_text("12.5 %")
        expect(rows.filter(has_text="Broken").locator(".problem")).to_have_text(ERROR)
        group = page.locator("#recurring-groups tbody")
        expect(group.locator("tr.group")).to_contain_text("Morning news")
        expect(group.locator("tr.occurrence")).to_have_count(3)
        page.screenshot(path=str(OUTPUT / "deliveries-list.png"), full_page=True)

        page.get_by_role("link", name="Older ›").click()
        expect(rows).to_have_count(DRAFTS + 2 - PAGE_SIZE)
        expect(rows.last).to_contain_text("Draft 1")
        expect(page.locator("#recurring-groups")).to_have_count(0)
        page.get_by_role("link", name="‹ Newest").click()
        expect(rows).to_have_count(PAGE_SIZE)

        search = page.get_by_role("searchbox", name="Name, subject or #number")
        search.fill("flowers")
        page.get_by_role("button", name="Search").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Spring sale")

        search.fill("")
        page.get_by_role("combobox", name="State").select_option("error")
        page.get_by_role("button", name="Search").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Broken")
        expect(page.get_by_role("combobox", name="State")).to_have_value("error")

        page.get_by_role("combobox", name="State").select_option("pending_confirmation")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#deliveries")).to_have_count(0)
        expect(group.locator("tr.occurrence")).to_have_count(1)
        expect(group.locator("tr.occurrence")).to_contain_text("pending confirmation")
        page.screenshot(path=str(OUTPUT / "deliveries-list-filtered.png"), full_page=True)
