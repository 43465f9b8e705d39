"""Recurring deliveries in a real browser (Debian's chromium, Playwright): build one with its
recurrence in words and next dates, ask for confirmation, confirm an occurrence, and the
refusals of users without the role."""

from __future__ import annotations

import datetime as dt

from dashboard_helpers import (
    BROWSER_FIXTURES,
    MAIL,
    csrf_of,
    delivery_state,
    log_in,
    screenshot,
    with_password,
)
from playwright.sync_api import Page, expect

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import Role
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.recurring.service import list_recurring, occurrences_of
from mailcast.users.service import add_user

browser, page, app_url = BROWSER_FIXTURES


def test_build_a_recurring_delivery_that_asks_for_confirmation_then_confirm_an_occurrence(
    ctx: Context, clock: ManualClock, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])
    log_in(page, app_url, with_password(ctx, "marie"), path="/recurring")
    page.get_by_role("link", name="New recurring delivery").click()

    page.get_by_label("Name", exact=True).fill("Monday news")
    page.get_by_label("Subject").fill("Hello {{ first_name }}")
    page.get_by_label("From", exact=True).fill("News <news@example.com>")
    page.get_by_label("HTML body").fill(MAIL["html"])
    page.get_by_label("Text body").fill(MAIL["text"])
    page.get_by_label("news (2 profiles)").check()
    schedule = page.locator("#schedule")
    schedule.get_by_label("Repeats").select_option("weekly")
    schedule.get_by_label("Mon", exact=True).check()
    schedule.get_by_label("Time", exact=True).fill("09:00")
    schedule.get_by_label("Time zone").fill("Europe/Paris")
    expect(schedule.get_by_label("Ask for confirmation before sending")).to_be_checked()
    schedule.get_by_role("button", name="Show the dates").click()
    expect(page.locator("#recurrence-words")).to_have_text("every Monday at 09:00, Europe/Paris")
    expect(page.locator("#next-dates li")).to_have_count(5)
    expect(page.locator("#next-dates li").first).to_have_text("Mon 2026-01-12 09:00 (Europe/Paris)")
    screenshot(page, "recurring-form.png")

    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_have_text("Recurring delivery created.")
    expect(page.locator("#recurrence-words")).to_have_text("every Monday at 09:00, Europe/Paris")
    expect(page.locator("#next-dates li")).to_have_count(5)
    expect(page.locator("#schedule")).to_contain_text("Ask for confirmation before sending: yes")
    screenshot(page, "recurring-created.png")

    # Edit: Mondays and Thursdays at 08:30; then off and on again.
    page.get_by_role("link", name="Edit").click()
    page.locator("#schedule").get_by_label("Thu", exact=True).check()
    page.locator("#schedule").get_by_label("Time", exact=True).fill("08:30")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#recurrence-words")).to_have_text(
        "every Monday and Thursday at 08:30, Europe/Paris"
    )
    expect(page.locator("#next-dates li").nth(1)).to_have_text(
        "Mon 2026-01-12 08:30 (Europe/Paris)"
    )
    page.get_by_role("button", name="Switch off").click()
    expect(page.get_by_role("status")).to_contain_text("Switched off")
    page.get_by_role("button", name="Switch on").click()
    expect(page.get_by_role("status")).to_contain_text("Switched on")

    # Thursday's occurrence comes due: prepared, it waits for confirmation.
    [recurring] = list_recurring(ctx)
    clock.advance(dt.timedelta(days=3, hours=1))
    run_due_occurrences(ctx)
    [occurrence] = occurrences_of(ctx, recurring.id)
    child = occurrence.delivery_id
    assert child is not None and delivery_state(ctx, child) == "pending_confirmation"

    # marie may not confirm: the button is greyed out and a forged form is refused.
    log_in(page, app_url, "marie", path=f"/recurring/{recurring.id}")
    expect(page.locator(f"#dialog-occurrence-{child}")).to_have_count(0)
    expect(page.locator("#schedule")).to_be_visible()
    expect(page.get_by_text("needs the role 'start_deliveries'.")).to_be_visible()
    forged = f"/dashboard/recurring/{recurring.id}/confirm/{child}"
    with page.expect_response(lambda r: r.url.endswith(forged)) as answer:
        page.evaluate(
            """([action, csrf]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                form.innerHTML = `<input type="hidden" name="csrf" value="${csrf}">`;
                document.body.append(form);
                form.submit();
            }""",
            [forged, csrf_of(page)],
        )
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("the role 'start_deliveries' is missing")
    assert delivery_state(ctx, child) == "pending_confirmation"
    screenshot(page, "recurring-confirm-refused.png")

    # sam confirms it from the recurring page: Confirm send, then OK in the dialog.
    page.context.clear_cookies()
    log_in(page, app_url, with_password(ctx, "sam"), path=f"/recurring/{recurring.id}")
    page.locator(f"#confirm-{child}").click()
    dialog = page.locator(f"#dialog-occurrence-{child}")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="OK").click()
    expect(page.get_by_role("status")).to_have_text("Occurrence confirmed: sending.")
    assert delivery_state(ctx, child) == "sending"
    screenshot(page, "recurring-confirm.png")


def test_without_prepare_deliveries_no_recurring_delivery_is_created(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com"])
    add_user(ctx.db, "april", [Role.APPROVE], None, ctx.clock)
    log_in(page, app_url, with_password(ctx, "april"), path="/recurring/new")
    create = page.get_by_role("button", name="Create")
    expect(create).to_be_disabled()
    expect(create).to_have_attribute("title", "Needs the role 'prepare_deliveries'")
    page.get_by_label("Name", exact=True).fill("Monday news")
    page.get_by_label("Subject").fill("Hello")
    page.get_by_label("From", exact=True).fill("news@example.com")
    page.get_by_label("news (1 profile)").check()
    # The server refuses the form posted anyway (the button enabled from the page).
    create.evaluate("button => { button.disabled = false; }")
    create.click()
    expect(page.get_by_role("alert")).to_contain_text("the role 'prepare_deliveries' is missing")
    assert list_recurring(ctx) == []
    screenshot(page, "recurring-refused.png")
