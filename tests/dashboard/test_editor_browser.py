"""The delivery editor in a real browser (Debian's chromium, Playwright), against the real app
under uvicorn, a send worker and the sandbox MTA on loopback: create → edit → preview →
prepare → proof → confirm → watch → report → duplicate, each step by the role that may do it."""

from __future__ import annotations

import re

from dashboard_helpers import (
    BROWSER_FIXTURES,
    MAIL,
    delivery_state,
    fresh_page,
    log_in,
    screenshot,
    sending_worker,
    with_password,
)
from playwright.sync_api import Browser, Page, expect

from conftest import Scenario
from mailcast.context import Context
from mailcast.domain import AddressStatus, Role
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store.addresses import set_address_status
from mailcast.store.deliveries import list_deliveries
from mailcast.users.service import add_user

browser, page, app_url = BROWSER_FIXTURES


def _shot(page: Page, name: str) -> None:
    """A full-page screenshot: the whole page in one viewport first, so that the sandboxed
    (out-of-process) preview frame is painted too."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": max(height, 720)})
    screenshot(page, name)
    page.set_viewport_size({"width": 1280, "height": 720})


def _delivery_id(page: Page) -> int:
    found = re.search(r"/deliveries/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))


def test_create_edit_preview_prepare_proof_confirm_watch_report_duplicate(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, app_url: str, browser: Browser
) -> None:
    ctx.settings.send.poll_seconds = 0.2
    scenario.audience(
        ["ann@example.com", "bob@example.com", "dan@example.com", "cat@other.org", None]
    )
    with ctx.db.write() as conn:  # left out at preparation, and said so
        set_address_status(conn, "dan@example.com", AddressStatus.DENYLIST, ctx.clock.now())
    with fresh_page(browser) as page:
        log_in(page, app_url, with_password(ctx, "marie"))  # prepare_deliveries
        page.get_by_role("link", name="New delivery").click()
        expect(page.get_by_role("heading", name="New delivery")).to_be_visible()

        page.get_by_label("Name", exact=True).fill("Winter news")
        page.get_by_label("Subject").fill("Hello {{ first_name }}")
        page.get_by_label("From", exact=True).fill("News <news@example.com>")
        page.get_by_label("HTML body").fill(MAIL["html"])
        page.get_by_label("Text body").fill(MAIL["text"])
        page.get_by_label("news").check()
        expect(page.locator("#target-count")).to_contain_text("5 profile(s) in the target")
        page.get_by_label("Filter").fill('domain = "example.com" and')
        expect(page.locator("#filter-error")).to_contain_text("invalid filter")
        # A refusal of the query's own checks (no `error` key) is said, not thrown.
        page.get_by_label("Filter").fill("x" * 10_001)
        expect(page.locator("#filter-error")).to_contain_text("at most 10000 characters")
        page.get_by_label("Filter").fill('domain = "example.com"')
        expect(page.locator("#target-count")).to_contain_text("3 profile(s) in the target")
        expect(page.locator("#filter-error")).to_be_hidden()
        preview = page.frame_locator("#draft-preview")
        expect(preview.locator("p")).to_contain_text("Hi P0")  # live, before any save
        _shot(page, "delivery-editor-create.png")
        page.get_by_role("button", name="Create draft").click()
        expect(page.locator("p.alert.notice")).to_contain_text("Draft saved")
        delivery_id = _delivery_id(page)
        assert delivery_state(ctx, delivery_id) == "draft"

        # Edit: the preview follows the form, for the profile asked for.
        page.get_by_label("Subject").fill("Hello {{ first_name }}, winter is here")
        page.get_by_label("As the profile").fill("bob@example.com")
        page.get_by_label("As the profile").dispatch_event("change")
        expect(preview.locator("p")).to_contain_text("Hi P1")
        expect(preview.locator("div").first).to_contain_text("winter is here · To: bob@example.com")
        assert page.evaluate("window.top.pwned") is None

        # A text body without its unsubscribe link: a blocking control rule, shown.
        page.get_by_label("Text body").fill("Hi {{ first_name }}")
        page.get_by_role("button", name="Save and prepare").click()
        expect(page.locator("#preparation")).to_contain_text("Blocked")
        expect(page.locator("#findings li.error")).to_contain_text("unsubscribe")
        assert delivery_state(ctx, delivery_id) == "draft"
        _shot(page, "delivery-editor-blocked.png")

        page.get_by_label("Text body").fill(MAIL["text"])
        page.get_by_role("button", name="Save and prepare").click()
        expect(page.locator("p.alert.notice")).to_contain_text("Preparation finished")
        expect(page.locator("#findings")).to_be_visible()
        expect(page.locator("#preparation")).to_contain_text("2 message(s) to deliver")
        expect(page.locator("#exclusions")).to_contain_text("1 denylisted")
        assert delivery_state(ctx, delivery_id) == "ready"
        _shot(page, "delivery-editor-prepared.png")

        page.get_by_label("Proof addresses").fill("qa@example.com")
        page.get_by_role("button", name="Send proofs").click()
        expect(page.locator("p.alert.notice")).to_contain_text("Proofs sent")
        expect(page.locator("#proof-list")).to_contain_text("qa@example.com")
        expect(page.locator("#proof-list")).to_contain_text("250")
        assert mta.count == 1
        _shot(page, "delivery-editor-proofs.png")

        # marie may not confirm: the button says which role is missing.
        page.get_by_role("link", name="Open the delivery page").click()
        expect(page.locator("#action-confirm")).to_be_disabled()
        expect(page.locator("#action-confirm")).to_have_attribute(
            "title", "Needs the role 'start_deliveries'"
        )

    with sending_worker(ctx), fresh_page(browser) as page:
        log_in(page, app_url, with_password(ctx, "sam"), path=f"/deliveries/{delivery_id}")
        expect(page.locator("#state-badge")).to_contain_text("ready")
        page.locator("#action-confirm").click()
        page.locator("#dialog-confirm").get_by_role("button", name="OK").click()
        expect(page.locator("p.alert.notice")).to_have_text("Send confirmed.")
        expect(page.locator("#progress-text")).to_have_text("100 %", timeout=30_000)
        expect(page.locator("#state-badge")).to_contain_text("sent")
        expect(page.locator('[data-kpi="processed"]')).to_have_text("2")
        expect(page.locator(".chart rect.funnel")).to_have_count(5)  # the report's funnel
        expect(page.locator("#action-edit")).to_have_count(0)  # sent: no longer editable
        report = page.request.get(f"{app_url}/api/deliveries/{delivery_id}/report")
        assert report.status == 200
        _shot(page, "delivery-editor-sent.png")

        page.locator("#action-duplicate").click()
        page.locator("#dialog-duplicate").get_by_role("button", name="OK").click()
        expect(page.locator("p.alert.notice")).to_contain_text("Duplicated")
        copy_id = _delivery_id(page)
        assert copy_id != delivery_id
        page.locator("#action-edit").click()
        expect(page.get_by_label("Name", exact=True)).to_have_value(re.compile("Winter news"))
        expect(page.get_by_label("Filter")).to_have_value('domain = "example.com"')
        _shot(page, "delivery-editor-duplicate.png")
    assert mta.count == 3  # the proof and the two messages


def test_a_schedule_in_its_time_zone_then_the_draft_is_deleted(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com"])
    log_in(page, app_url, with_password(ctx, "marie"), path="/deliveries/new")
    page.get_by_label("Name", exact=True).fill("Paris morning")
    page.get_by_label("Subject").fill("Bonjour")
    page.get_by_label("From", exact=True).fill("news@example.com")
    page.get_by_label("HTML body").fill(MAIL["html"])
    page.get_by_label("news").check()
    page.get_by_label("Send date").fill("2030-03-01")
    page.get_by_label("Time", exact=True).fill("09:30")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("alert").first).to_contain_text("Unknown time zone 'Mars/Olympus'")
    expect(page.get_by_label("Name", exact=True)).to_have_value(
        "Paris morning"
    )  # the form as it was sent

    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("p.alert.notice")).to_contain_text("Draft saved")
    expect(page.locator("#schedule-shown")).to_contain_text(
        "2030-03-01 09:30 Europe/Paris (2030-03-01 08:30 UTC)"
    )
    expect(page.get_by_label("Time", exact=True)).to_have_value("09:30")
    page.get_by_role("link", name=re.compile("Paris morning")).click()
    expect(page.locator("#send-date")).to_have_text(
        "2030-03-01 09:30 Europe/Paris (2030-03-01 08:30 UTC)"
    )
    expect(page.frame_locator("#preview").locator("p")).to_contain_text("Hi P0")
    _shot(page, "delivery-editor-schedule.png")

    page.locator("#action-edit").click()
    page.get_by_role("button", name="Delete this draft").click()
    dialog = page.locator("#dialog-delete")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Delete this draft").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("p.alert.notice")).to_contain_text("deleted")
    with ctx.db.read() as conn:
        assert list_deliveries(conn) == []
    _shot(page, "delivery-editor-deleted.png")


def test_without_prepare_deliveries_the_editor_refuses_and_says_which_role(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.delivery(**MAIL)
    add_user(ctx.db, "alice", [Role.APPROVE], None, ctx.clock)
    log_in(page, app_url, with_password(ctx, "alice"))
    page.get_by_role("link", name="New delivery").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "may not create_delivery: the role 'prepare_deliveries' is missing"
    )
    answer = page.goto(f"{app_url}/dashboard/deliveries/{delivery_id}/edit")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("alert")).to_contain_text(
        "may not edit_delivery: the role 'prepare_deliveries' is missing"
    )
    _shot(page, "delivery-editor-refused.png")

    # A form forged with the session's own CSRF token: the server refuses it anyway.
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    assert csrf
    url = f"{app_url}/dashboard/deliveries/{delivery_id}"
    for path, action in (("/edit", "edit_delivery"), ("/delete", "delete_delivery")):
        forged = page.request.post(url + path, form={"csrf": csrf, "name": "x"})
        assert forged.status == 403 and action in forged.text()
    assert delivery_state(ctx, delivery_id) == "draft"
