"""The audience in a real browser (Debian's chromium, Playwright): a CSV import with bad rows,
a profile's page, an admin's unsubscribe and resubscribe with the reason, and the refusals of
users without the role."""

from __future__ import annotations

from dashboard_helpers import (
    BROWSER_FIXTURES,
    MAIL,
    csrf_of,
    log_in,
    screenshot,
    with_password,
)
from playwright.sync_api import Page, expect

from conftest import Scenario
from mailcast.audience.subscriptions import subscription_changes
from mailcast.context import Context
from mailcast.domain import Role
from mailcast.store import history as history_store
from mailcast.users.service import add_user

CSV = (
    b"email,first_name,last_name,city\n"
    b"ann@example.com,Ann,Lee,Paris\n"
    b"bob(at)example.com,Bob,,Lyon\n"
    b"cy@example.com,Cy,,Nice\n"
    b"ann@example.com,Annie,,\n"
    b",Nobody,,Brest\n"
    b"dee@example.com,Dee,,Metz\n"
)


browser, page, app_url = BROWSER_FIXTURES


def _forge(page: Page, action: str, fields: dict[str, str]) -> int:
    """Post a form the page does not offer, with the session's own CSRF token; its status."""
    with page.expect_response(lambda r: r.url.endswith(action)) as answer:
        page.evaluate(
            """([action, fields]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            [action, fields | {"csrf": csrf_of(page)}],
        )
    return answer.value.status


def test_import_a_csv_with_bad_rows_then_unsubscribe_and_resubscribe_a_profile(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["old@example.com"], list_name="customers")
    log_in(page, app_url, with_password(ctx, "marie"), path="/audience")
    expect(page.locator("#lists")).to_contain_text("customers")
    page.get_by_label("Into the list").fill("news")
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}
    )
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-summary")).to_have_text(
        "6 rows read: 3 new profiles, 0 updated, 1 merged with an earlier row of the file,"
        " 2 left out with an error."
    )
    expect(page.locator("#upload-text")).to_have_text("Uploaded and imported.")
    assert page.locator("#upload-progress").evaluate("bar => bar.value") == 100
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0).locator("td").first).to_have_text("3")
    expect(errors.nth(1).locator("td").first).to_have_text("6")
    expect(page.locator("#lists tr", has_text="news")).to_contain_text("3")
    screenshot(page, "audience-import.png")

    # marie may read the profile but not change its subscription (the admin's denylist).
    page.get_by_label("Open the profile of").fill("ANN@example.com")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("h1")).to_contain_text("ann@example.com")
    expect(page.locator("#attributes")).to_contain_text("Paris")
    expect(page.locator("#profile-lists")).to_have_text("news")
    unsubscribe = page.get_by_role("button", name="Unsubscribe")
    expect(unsubscribe).to_be_disabled()
    expect(unsubscribe).to_have_attribute("title", "Needs the role 'admin'")
    profile_path = page.url.removeprefix(f"{app_url}/dashboard")
    forged = {"subscribed": "no", "reason": "forged"}
    status = _forge(page, f"/dashboard{profile_path}/subscription", forged)
    assert status == 403
    expect(page.get_by_role("alert")).to_contain_text("the role 'admin' is missing")
    screenshot(page, "audience-profile-refused.png")

    # An admin unsubscribes, then resubscribes, each time saying why.
    page.context.clear_cookies()
    add_user(ctx.db, "ada", [Role.ADMIN], None, ctx.clock)
    log_in(page, app_url, with_password(ctx, "ada"), path=profile_path)
    expect(page.locator("#subscribed")).to_have_text("subscribed")
    page.get_by_label("Reason").fill("Asked by phone on 4 January")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("status")).to_contain_text("Unsubscribed")
    expect(page.locator("#subscribed")).to_have_text("unsubscribed")
    expect(page.locator("#standing")).to_have_text("unsubscribed")
    page.get_by_label("Reason").fill("Signed up again at the shop")
    page.get_by_role("button", name="Resubscribe").click()
    expect(page.get_by_role("status")).to_contain_text("Resubscribed")
    rows = page.locator("#subscription-changes tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Signed up again at the shop")
    expect(rows.nth(1)).to_contain_text("Asked by phone on 4 January")
    expect(rows.nth(1)).to_contain_text("ada")
    with ctx.db.read() as conn:
        ann = history_store.profile_by_address(conn, "ann@example.com")
    assert ann is not None and ann["email_subscribed"]
    assert [c.reason for c in subscription_changes(ctx, ann["id"])] == [
        "Signed up again at the shop",
        "Asked by phone on 4 January",
    ]
    screenshot(page, "audience-profile.png")


def test_a_profile_page_shows_its_history_and_without_prepare_deliveries_no_import(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com"])
    scenario.prepared(**MAIL, name="Winter news")
    add_user(ctx.db, "april", [Role.APPROVE], None, ctx.clock)
    log_in(page, app_url, with_password(ctx, "april"), path="/audience")
    page.get_by_label("Open the profile of").fill("ann@example.com")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#history")).to_contain_text("Winter news")
    expect(page.locator("#history")).to_contain_text("queued")

    page.goto(f"{app_url}/dashboard/audience")
    button = page.get_by_role("button", name="Import")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", "Needs the role 'prepare_deliveries'")
    page.get_by_label("Into the list").fill("news")
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}
    )
    button.evaluate("button => { button.disabled = false; }")  # posted anyway: the server says no
    button.click()
    expect(page.get_by_role("alert")).to_contain_text("the role 'prepare_deliveries' is missing")
    expect(page.locator("#upload-text")).to_have_text("Not imported.")
    with ctx.db.read() as conn:
        assert history_store.profile_by_address(conn, "cy@example.com") is None
    screenshot(page, "audience-import-refused.png")
