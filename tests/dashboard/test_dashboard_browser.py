"""The dashboard in a real browser (Debian's headless chromium driven by Playwright), against
the real app under uvicorn, a real send worker and the sandbox MTA on loopback."""

from __future__ import annotations

import datetime as dt
import re

from dashboard_helpers import (
    BROWSER_FIXTURES,
    MAIL,
    OUTPUT,
    TIMEOUT_MS,
    csrf_of,
    delivery_state,
    log_in,
    sending_worker,
    with_password,
)
from playwright.sync_api import Browser, Page, expect

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.users.service import User

browser, page, app_url = BROWSER_FIXTURES


def test_without_start_deliveries_confirm_is_disabled_and_a_forged_post_is_refused(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])
    delivery_id = scenario.prepared(**MAIL)
    log_in(page, app_url, with_password(ctx, "marie"), path=f"/deliveries/{delivery_id}")

    confirm = page.locator("#action-confirm")
    expect(confirm).to_be_disabled()
    expect(confirm).to_have_attribute("title", "Needs the role 'start_deliveries'")
    expect(page.locator("#dialog-confirm")).to_have_count(0)

    # The server refuses anyway: a form forged in the page, with the session's own CSRF token.
    forged = f"/dashboard/deliveries/{delivery_id}/confirm"
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
    expect(page.get_by_role("alert")).to_contain_text(
        "may not confirm_send: the role 'start_deliveries' is missing"
    )
    assert delivery_state(ctx, delivery_id) == "ready"


def test_confirm_send_then_ok_sends_and_the_deployment_block_follows_to_100_percent(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, app_url: str, page: Page
) -> None:
    # Small batches at 4 messages a second: the send lasts about 5 s, in steps of 20 %.
    ctx.settings.send.batch_size, ctx.settings.send.rate_per_second = 4, 4.0
    ctx.settings.send.poll_seconds = 0.2
    readers = [f"reader{n}@example.com" for n in range(18)]
    scenario.audience([*readers, "unknown1@example.com", "unknown2@example.com"])
    delivery_id = scenario.prepared(**MAIL, name="Spring sale")

    with sending_worker(ctx):
        log_in(page, app_url, with_password(ctx, "sam"), path=f"/deliveries/{delivery_id}")
        expect(page.locator("#state-badge")).to_contain_text("ready")
        expect(page.locator('[data-kpi="to_deliver"]')).to_have_text("20")

        # Cancel first: the dialog closes and nothing is posted.
        page.locator("#action-confirm").click()
        dialog = page.locator("#dialog-confirm")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Send “Spring sale” to 20 recipients now?")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        assert delivery_state(ctx, delivery_id) == "ready"

        page.locator("#action-confirm").click()
        dialog.get_by_role("button", name="OK").click()
        expect(page.get_by_role("status")).to_have_text("Send confirmed.")

        # The bar moves while the page stays: the live script, not a reload, shows it.
        page.evaluate("window.shownAt = document.getElementById('progress').value")
        page.wait_for_function(
            """() => {
                const shown = document.getElementById("progress").value;
                return window.shownAt !== undefined && shown !== window.shownAt && shown < 100;
            }"""
        )
        expect(page.locator("#progress-text")).to_have_text("100 %", timeout=30_000)
        assert page.locator("#progress").evaluate("bar => bar.value") == 100
        expect(page.locator("#state-badge")).to_contain_text("sent")
        expect(page.locator("#state-badge")).to_contain_text("발송완료")
        expect(page.locator('[data-kpi="processed"]')).to_have_text("20")
        expect(page.locator('[data-kpi="delivered_pct"]')).to_have_text("90 %")
        expect(page.locator('[data-kpi="bounces_pct"]')).to_have_text("10 %")
        expect(page.locator(".chart rect.funnel")).to_have_count(5)
        expect(page.frame_locator("#preview").locator("p")).to_contain_text("Hi P0")

    assert mta.count == 18
    OUTPUT.mkdir(exist_ok=True)
    shot = OUTPUT / "delivery-page.png"
    # The whole page in one viewport: a full-page capture would leave the preview's
    # (out-of-process, sandboxed) frame blank.
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": height})
    expect(page.frame_locator("#preview").locator("p")).to_contain_text("Hi P0")
    page.screenshot(path=str(shot))
    print(f"\nscreenshot of the delivery page: {shot}")


def test_a_form_post_without_the_csrf_token_or_with_a_wrong_one_is_refused(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.prepared(**MAIL)
    log_in(page, app_url, with_password(ctx, "sam"), path=f"/deliveries/{delivery_id}")
    url = f"{app_url}/dashboard/deliveries/{delivery_id}/confirm"

    forms: list[dict[str, str | float | bool]] = [
        {},
        {"csrf": "not-the-token"},
        {"csrf": csrf_of(page) + "x"},
    ]
    for form in forms:
        answer = page.request.post(url, form=form, max_redirects=0)
        assert answer.status == 403, form
        assert "CSRF token is missing or wrong" in answer.text()
    assert delivery_state(ctx, delivery_id) == "ready"

    answer = page.request.post(url, form={"csrf": csrf_of(page)}, max_redirects=0)
    assert answer.status == 303  # the same user, with the token: confirmed
    assert delivery_state(ctx, delivery_id) == "sending"


def test_the_preview_cannot_run_script_in_the_dashboard(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com"])
    html = (
        "<p>Hello {{ first_name }}</p>"
        '<script>window.top.pwned = 1; new Image().src = "/dashboard/static/pwned.gif";</script>'
        '<img src="missing.png" onerror="window.top.pwned = 2">'
    )
    delivery_id = scenario.delivery(html=html)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    with page.expect_response(lambda r: r.url.endswith("/preview")) as preview:
        log_in(page, app_url, with_password(ctx, "marie"), path=f"/deliveries/{delivery_id}")
    expect(page.frame_locator("#preview").locator("p")).to_have_text("Hello P0")

    frame = page.locator("#preview")
    assert frame.get_attribute("sandbox") == ""  # every restriction: no allow-scripts at all
    policy = preview.value.headers["content-security-policy"]
    assert "sandbox" in policy.split("; ")
    assert "script-src 'none'" in policy
    assert page.evaluate("window.pwned") is None
    assert not [url for url in requested if "pwned" in url]

    # Opened on its own (not in the iframe), the preview is still sandboxed by its CSP.
    page.goto(preview.value.url)
    expect(page.locator("p")).to_have_text("Hello P0")
    assert not [url for url in requested if "pwned" in url]


def test_logins_are_rate_limited_per_user_name(
    ctx: Context, clock: ManualClock, sam: User, app_url: str, page: Page
) -> None:
    ctx.settings.sessions.login_attempts = 3
    with_password(ctx, "sam")
    alert = page.get_by_role("alert")
    for _ in range(3):
        log_in(page, app_url, "sam", "not the password")
        expect(alert).to_have_text("Wrong user name or password.")

    log_in(page, app_url, "sam")  # the right password, too soon
    expect(alert).to_contain_text("Too many failed logins: try again in 15 minutes")
    assert not [c for c in page.context.cookies() if c["name"] == "mailcast_session"]

    clock.advance(dt.timedelta(minutes=15, seconds=1))
    log_in(page, app_url, "sam")
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()


def test_a_password_change_ends_the_other_sessions(
    ctx: Context, sam: User, app_url: str, browser: Browser
) -> None:
    with_password(ctx, "sam")
    mine, other = browser.new_context(), browser.new_context()
    here, there = mine.new_page(), other.new_page()
    for page in (here, there):
        page.set_default_timeout(TIMEOUT_MS)
        log_in(page, app_url, "sam")
        expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()

    here.goto(f"{app_url}/dashboard/account")
    here.get_by_label("Current password").fill("correct horse battery")
    here.get_by_label("New password", exact=True).fill("a brand new secret")
    here.get_by_label("New password again").fill("a brand new secret")
    here.get_by_role("button", name="Change password").click()
    expect(here.get_by_role("status")).to_contain_text("every other session of yours has ended")

    there.reload()
    expect(there.get_by_role("heading", name="Log in")).to_be_visible()
    here.goto(f"{app_url}/dashboard/")
    expect(here.get_by_role("heading", name="Deliveries")).to_be_visible()

    log_in(there, app_url, "sam")  # the old password
    expect(there.get_by_role("alert")).to_have_text("Wrong user name or password.")
    log_in(there, app_url, "sam", "a brand new secret")
    expect(there.get_by_role("heading", name="Deliveries")).to_be_visible()
    assert re.search(r"/dashboard/$", there.url)
    mine.close()
    other.close()
