"""Sessions, CSRF, security headers and the dashboard's pages over HTTP (real app, no browser)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator

import pytest
from dashboard_helpers import MAIL, PASSWORD, form_csrf, log_in_client, with_password
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import Scenario
from mailcast.audience.target import Target
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryDraft
from mailcast.domain import RETRY_COLOUR, STIBEE_LABELS, AddressStatus, FailureReason, Role
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.recurring.service import RecurringSpec, create_recurring
from mailcast.store import addresses as address_store
from mailcast.store.deliveries import get_delivery, list_deliveries
from mailcast.store.tables import login_failures, sessions
from mailcast.users.service import User, add_user, set_disabled, set_password
from mailcast.users.sessions import (
    SESSION_COOKIE,
    LoginRefused,
    LoginThrottled,
    close_session,
    login,
    open_session,
    session_user,
)
from mailcast.web.app import create_app


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as test_client:
        yield test_client


# --- Sessions and logins (users/sessions.py) ------------------------------------------------


def test_a_session_lives_until_it_expires_is_closed_or_its_user_disabled(
    ctx: Context, clock: ManualClock, sam: User
) -> None:
    token, csrf = open_session(ctx, sam, "127.0.0.1", "test-agent")
    assert session_user(ctx, token) == (sam, csrf)
    with ctx.db.read() as conn:
        stored = conn.execute(select(sessions.c.token_hash)).scalars().all()
    assert token not in stored and len(stored) == 1  # only the token's SHA-256 is kept

    clock.advance(dt.timedelta(hours=ctx.settings.sessions.lifetime_hours, seconds=1))
    assert session_user(ctx, token) is None

    token, _ = open_session(ctx, sam, None, None)
    set_disabled(ctx.db, "sam")
    assert session_user(ctx, token) is None
    set_disabled(ctx.db, "sam", False)
    assert session_user(ctx, token) is not None
    close_session(ctx, token)
    assert session_user(ctx, token) is None


def test_setting_a_password_ends_every_session_of_that_user_only(
    ctx: Context, sam: User, marie: User
) -> None:
    sams = [open_session(ctx, sam, None, None)[0] for _ in range(2)]
    maries = open_session(ctx, marie, None, None)[0]
    set_password(ctx.db, "sam", "a brand new secret")
    assert [session_user(ctx, token) for token in sams] == [None, None]
    assert session_user(ctx, maries) is not None


def test_login_refuses_wrong_passwords_and_then_throttles_the_peer(
    ctx: Context, clock: ManualClock, sam: User
) -> None:
    ctx.settings.sessions.login_attempts = 3
    with_password(ctx, "sam")
    # Three different names from one address: the address is throttled, whatever the name.
    for name in ("sam", "root", "admin"):
        with pytest.raises(LoginRefused, match="wrong user name or password"):
            login(ctx, name, "guess", "198.51.100.7")
    with pytest.raises(LoginThrottled):
        login(ctx, "sam", PASSWORD, "198.51.100.7")
    assert login(ctx, "sam", PASSWORD, "192.0.2.1") == sam  # another address, fewer failures
    with ctx.db.read() as conn:
        failed = conn.execute(select(login_failures.c.username).order_by(login_failures.c.id))
        assert failed.scalars().all() == ["root", "admin"]  # a login clears its name's count

    clock.advance(dt.timedelta(minutes=ctx.settings.sessions.login_window_minutes))
    assert login(ctx, "sam", PASSWORD, "198.51.100.7") == sam


# --- Login form, cookies, headers -----------------------------------------------------------


def test_pages_need_a_login_and_come_back_after_it(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.prepared(**MAIL)
    with_password(ctx, "marie")
    answer = client.get(
        f"/dashboard/deliveries/{delivery_id}?tab=exclusions", follow_redirects=False
    )
    assert answer.status_code == 303
    target = answer.headers["location"]
    assert target.startswith("/dashboard/login?next=")
    assert client.get(f"/dashboard/deliveries/{delivery_id}/deployment.json").status_code == 401

    form_page = client.get(target)
    form = {"csrf": form_csrf(form_page.text), "name": "marie", "password": PASSWORD}
    kept = re.search(r'name="next" value="([^"]+)"', form_page.text)
    assert kept, "the login form keeps where to go next"
    form["next"] = html.unescape(kept.group(1))
    answer = client.post("/dashboard/login", data=form, follow_redirects=False)
    assert answer.headers["location"] == f"/dashboard/deliveries/{delivery_id}?tab=exclusions"


@pytest.mark.parametrize(
    ("base_url", "secure"),
    [("http://127.0.0.1:8025", False), ("http://localhost", False), ("https://mail.example", True)],
)
def test_the_session_cookie_is_http_only_lax_scoped_and_secure_unless_on_loopback_http(
    ctx: Context, sam: User, base_url: str, secure: bool
) -> None:
    with_password(ctx, "sam")
    ctx.settings.tracking.base_url = base_url
    with TestClient(create_app(ctx), base_url=base_url) as client:
        login_page = client.get("/dashboard/login")
        form = {"csrf": form_csrf(login_page.text), "name": "sam", "password": PASSWORD}
        answer = client.post("/dashboard/login", data=form, follow_redirects=False)
    assert answer.status_code == 303
    cookies = [
        value.lower()
        for name, value in answer.headers.multi_items()
        if name == "set-cookie" and value.startswith(f"{SESSION_COOKIE}=")
    ]
    sessions = [cookie for cookie in cookies if "max-age=0" not in cookie]
    # The dashboard and the API get the session; the tracking routes (/t) never do.
    paths = [part[5:] for c in sessions for part in c.split("; ") if part.startswith("path=")]
    assert sorted(paths) == ["/api", "/dashboard"]
    for cookie in sessions:
        assert "; httponly" in cookie and "; samesite=lax" in cookie
        assert ("; secure" in cookie) is secure


def test_the_login_form_needs_its_csrf_token_and_never_redirects_away(
    ctx: Context, sam: User, client: TestClient
) -> None:
    with_password(ctx, "sam")
    refused = client.post("/dashboard/login", data={"name": "sam", "password": PASSWORD})
    assert refused.status_code == 403
    assert not client.cookies.get(SESSION_COOKIE)

    for elsewhere in ("https://evil.example/", "//evil.example/", "/dashboard/\\\\evil.example"):
        login_page = client.get("/dashboard/login")
        form = {"csrf": form_csrf(login_page.text), "name": "sam", "password": PASSWORD}
        answer = client.post(
            "/dashboard/login", data={**form, "next": elsewhere}, follow_redirects=False
        )
        assert answer.headers["location"] == "/dashboard/", elsewhere


def test_dashboard_pages_carry_a_strict_csp_and_run_no_inline_script(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.prepared(**MAIL, name='<script>alert("name")</script>')
    with_password(ctx, "marie")
    log_in_client(client, "marie")
    for path in ("/dashboard/", f"/dashboard/deliveries/{delivery_id}", "/dashboard/login"):
        answer = client.get(path)
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        # Autoescaped everywhere: the name shows as text; every script is a file.
        assert '<script>alert("name")' not in answer.text
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", answer.text))
    assert "&lt;script&gt;alert(&#34;name&#34;)" in client.get("/dashboard/").text


def test_the_deployment_json_follows_the_live_counters(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])
    delivery_id = scenario.prepared(**MAIL)
    with_password(ctx, "marie")
    log_in_client(client, "marie")
    block = client.get(f"/dashboard/deliveries/{delivery_id}/deployment.json").json()
    assert block["state"] == "ready" and block["to_deliver"] == 2 and block["progress"] == 0
    assert client.get("/dashboard/deliveries/9999/deployment.json").status_code == 404


# --- Quarantine and history pages -----------------------------------------------------------


def _held(ctx: Context, *addresses: str) -> None:
    with ctx.db.write() as conn:
        for address in addresses:
            address_store.set_address_status(
                conn, address, AddressStatus.QUARANTINE, ctx.clock.now(), FailureReason.USER_UNKNOWN
            )


def _status(ctx: Context, address: str) -> str | None:
    with ctx.db.read() as conn:
        row = address_store.get_address_state(conn, address)
    return row["status"] if row else None


def test_only_an_admin_may_release_quarantined_addresses(
    ctx: Context, marie: User, client: TestClient
) -> None:
    _held(ctx, "ann@example.com")
    with_password(ctx, "marie")
    csrf = log_in_client(client, "marie")
    page = client.get("/dashboard/quarantine")
    assert page.status_code == 403
    assert "the role &#39;admin&#39; is missing" in page.text
    refused = client.post(
        "/dashboard/quarantine/release", data={"csrf": csrf, "address": "ann@example.com"}
    )
    assert refused.status_code == 403
    assert _status(ctx, "ann@example.com") == "quarantine"


def test_an_admin_releases_one_address_or_a_whole_domain(ctx: Context, client: TestClient) -> None:
    add_user(ctx.db, "ada", [Role.ADMIN], PASSWORD, ctx.clock)
    _held(ctx, "ann@example.com", "bob@example.com", "cy@outage.example", "di@outage.example")
    csrf = log_in_client(client, "ada")
    page = client.get("/dashboard/quarantine?status=quarantine")
    assert page.text.count('name="address"') == 4

    one = client.post(
        "/dashboard/quarantine/release", data={"csrf": csrf, "address": "ann@example.com"}
    )
    assert "Released 1 address(es)" in one.text
    bulk = client.post(
        "/dashboard/quarantine/release-bulk", data={"csrf": csrf, "domain": "outage.example"}
    )
    assert "Released 2 address(es)" in bulk.text
    assert [_status(ctx, a) for a in ("ann@example.com", "bob@example.com")] == [
        "valid",
        "quarantine",
    ]
    assert _status(ctx, "cy@outage.example") == _status(ctx, "di@outage.example") == "valid"


def test_the_profile_history_page_lists_what_happened_to_the_profile(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.prepared(**MAIL, name="Winter news")
    with_password(ctx, "marie")
    log_in_client(client, "marie")
    page = client.get("/dashboard/profiles", params={"email": "ANN@example.com"})
    assert page.status_code == 200
    assert f'href="/dashboard/deliveries/{delivery_id}">Winter news</a>' in page.text
    assert "queued" in page.text
    unknown = client.get("/dashboard/profiles", params={"email": "nobody@example.com"})
    assert unknown.status_code == 404
    assert "No profile has the address" in unknown.text


def test_the_delivery_page_says_the_css_is_inlined_and_its_preview_shows_it(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    html_body = "<style>p { color: #c00 }</style><p>Hi {{ first_name }}</p>" + MAIL["html"]
    inlined = scenario.delivery(**(MAIL | {"html": html_body}), inline_css=True)
    as_written = scenario.delivery(**(MAIL | {"html": html_body}))
    with_password(ctx, "marie")
    log_in_client(client, "marie")

    for delivery_id, shown, paragraph in (
        (inlined, True, '<p style="color: #c00;">Hi P0</p>'),
        (as_written, False, "<p>Hi P0</p>"),
    ):
        page = client.get(f"/dashboard/deliveries/{delivery_id}").text
        assert ("<strong>CSS</strong> inlined" in page) is shown
        assert paragraph in client.get(f"/dashboard/deliveries/{delivery_id}/preview").text


# --- States, schedule, copies, recurring ----------------------------------------------------


def test_every_state_colour_has_a_style(client: TestClient) -> None:
    css = client.get("/dashboard/static/dashboard.css").text
    colours = {colour for _, colour in STIBEE_LABELS.values()} | {RETRY_COLOUR}
    assert [c for c in sorted(colours) if f".tone-{c}" not in css] == []


def test_a_scheduled_delivery_can_be_cancelled_and_any_delivery_duplicated(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.prepared(**MAIL, send_at=ctx.clock.now() + dt.timedelta(days=2))
    with_password(ctx, "sam")
    csrf = log_in_client(client, "sam")
    confirmed = client.post(f"/dashboard/deliveries/{delivery_id}/confirm", data={"csrf": csrf})
    assert "예약중" in confirmed.text  # scheduled, in Stibee's word too
    assert 'id="action-cancel-schedule"' in confirmed.text

    cancelled = client.post(
        f"/dashboard/deliveries/{delivery_id}/cancel-schedule", data={"csrf": csrf}
    )
    assert "Schedule cancelled" in cancelled.text
    assert "작성중" in cancelled.text  # back in draft

    copy = client.post(
        f"/dashboard/deliveries/{delivery_id}/duplicate",
        data={"csrf": csrf, "leave_out_delivered": "yes"},
        follow_redirects=False,
    )
    copy_id = int(copy.headers["location"].split("/")[-1].split("?")[0])
    assert copy_id != delivery_id
    with ctx.db.read() as conn:
        row = get_delivery(conn, copy_id)
    assert (row["copied_from_id"], row["leave_out_delivered"], row["send_at"]) == (
        delivery_id,
        True,
        None,
    )
    assert "Duplicated: this is the copy" in client.get(copy.headers["location"]).text


def test_a_recurring_occurrence_waiting_for_confirmation_is_confirmed_from_the_dashboard(
    ctx: Context, clock: ManualClock, scenario: Scenario, marie: User, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    template = DeliveryDraft(
        name="Morning news",
        subject="Hello {{ first_name }}",
        from_addr="News <news@example.com>",
        target=Target(("news",)),
        html='<p>Hi <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
        text="Hi, unsubscribe: {{ unsubscribe_url }}",
    )
    create_recurring(ctx, marie, RecurringSpec(template, "0 9 * * *", "UTC"))
    clock.advance(dt.timedelta(days=1))
    run_due_occurrences(ctx)
    with ctx.db.read() as conn:
        [child] = [d for d in list_deliveries(conn) if d["recurring_id"] is not None]
    assert child["state"] == "pending_confirmation"

    with_password(ctx, "marie")
    csrf = log_in_client(client, "marie")
    listed = client.get("/dashboard/recurring").text
    assert "Morning news" in listed and "needs the role 'start_deliveries'" in listed
    refused = client.post(
        f"/dashboard/deliveries/{child['id']}/confirm-occurrence", data={"csrf": csrf}
    )
    assert refused.status_code == 403

    with_password(ctx, "sam")
    csrf = log_in_client(client, "sam")
    assert (
        f'commandfor="dialog-occurrence-{child["id"]}"' in client.get("/dashboard/recurring").text
    )
    confirmed = client.post(
        f"/dashboard/deliveries/{child['id']}/confirm-occurrence", data={"csrf": csrf}
    )
    assert "Occurrence confirmed: sending." in confirmed.text
    with ctx.db.read() as conn:
        assert get_delivery(conn, child["id"])["state"] == "sending"


def test_the_log_tabs_show_the_logs_or_the_missing_role(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com", "ann@example.com", None])
    delivery_id = scenario.prepared(**MAIL)
    with_password(ctx, "marie")
    log_in_client(client, "marie")
    page = f"/dashboard/deliveries/{delivery_id}"
    sending = client.get(page).text
    assert "ann@example.com" in sending and "queued" in sending
    exclusions = client.get(page, params={"tab": "exclusions"}).text
    assert "<strong>1</strong> address empty" in exclusions
    tracking = client.get(page, params={"tab": "tracking"}).text
    assert "No open, click or unsubscribe yet." in tracking

    add_user(ctx.db, "abe", [], PASSWORD, ctx.clock)
    log_in_client(client, "abe")
    refused = client.get(page, params={"tab": "exclusions"}).text
    assert "the role &#39;prepare_deliveries&#39; is missing" in refused
    assert "address empty" not in refused
