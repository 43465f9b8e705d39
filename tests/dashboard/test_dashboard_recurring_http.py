"""Recurring deliveries in the dashboard over HTTP: create, edit, switch, confirm, refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from dashboard_helpers import MAIL, log_in_client, with_password
from fastapi.testclient import TestClient

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import approve_delivery
from mailcast.domain import DeliveryState, Role
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.recurring.service import (
    confirm_occurrence,
    get_recurring,
    list_recurring,
    occurrences_of,
)
from mailcast.recurring.words import describe
from mailcast.store.deliveries import get_delivery
from mailcast.users.service import User, add_user
from mailcast.web.app import create_app
from mailcast.web.dashboard import actions

FORM = {
    "name": "Monday news",
    "subject": "Hello {{ first_name }}",
    "from_addr": "News <news@example.com>",
    **MAIL,
    "lists": "news",
    "repeats": "weekly",
    "days": "MO",
    "time": "09:00",
    "timezone": "Europe/Paris",
    "aggregation": "none",
    "confirm_before_send": "yes",
}


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_recurrences_are_written_in_words() -> None:
    cases = {
        "0 9 * * MON": "every Monday at 09:00, Europe/Paris",
        "30 8,17 * * MON-FRI": "every Monday to Friday at 08:30 and 17:30, Europe/Paris",
        "0 9 1 * *": "on the 1st of every month at 09:00, Europe/Paris",
        "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0": "every Monday and Thursday at 09:00, "
        "Europe/Paris",
        "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10": "on the first Monday of every month at 10:00, "
        "Europe/Paris",
        # cron's day-of-month OR weekday is quoted, never guessed at
        "0 9 1 * MON": "following the rule “0 9 1 * MON”, Europe/Paris",
    }
    assert {text: describe(text, "Europe/Paris") for text in cases} == cases


def test_a_recurring_delivery_is_created_previewed_edited_and_switched_from_the_browser(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])
    with_password(ctx, "marie")
    csrf = log_in_client(client, "marie")
    new = client.get("/dashboard/recurring/new").text
    assert 'news <span class="hint">(2 profiles)</span>' in new
    assert "Ask for confirmation before sending" in new

    shown = client.post("/dashboard/recurring/preview", data=FORM | {"csrf": csrf}).text
    assert "every Monday at 09:00, Europe/Paris" in shown
    # 5 January 2026, 10:00 in Paris: the next Mondays, in Paris time
    assert shown.count("<li>Mon 2026-") == 5 and "Mon 2026-01-12 09:00 (Europe/Paris)" in shown
    assert list_recurring(ctx) == []  # a preview saves nothing

    created = client.post("/dashboard/recurring/new", data=FORM | {"csrf": csrf})
    assert "Recurring delivery created." in created.text
    [recurring] = list_recurring(ctx)
    assert recurring.confirm_before_send and recurring.template.target.lists == ("news",)
    assert "Mon 2026-02-09 09:00 (Europe/Paris)" in created.text  # the fifth date

    edit_page = client.get(f"/dashboard/recurring/{recurring.id}/edit").text
    assert 'value="MO" checked' in edit_page and 'value="09:00"' in edit_page
    edited = FORM | {"csrf": csrf, "days": ["MO", "TH"], "time": "08:30", "subject": "Hi"}
    saved = client.post(f"/dashboard/recurring/{recurring.id}/edit", data=edited)
    assert "every Monday and Thursday at 08:30, Europe/Paris" in saved.text
    after = get_recurring(ctx, recurring.id)
    assert after.template.subject == "Hi"
    assert after.next_occurrence_at == dt.datetime(2026, 1, 8, 7, 30, tzinfo=dt.UTC)

    off = client.post(f"/dashboard/recurring/{recurring.id}/active", data={"csrf": csrf})
    assert "Switched off" in off.text and not get_recurring(ctx, recurring.id).active
    on = client.post(
        f"/dashboard/recurring/{recurring.id}/active", data={"csrf": csrf, "active": "on"}
    )
    assert "Switched on" in on.text and get_recurring(ctx, recurring.id).active


def test_the_form_says_what_is_wrong_and_keeps_what_was_typed(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    with_password(ctx, "marie")
    csrf = log_in_client(client, "marie")
    custom = FORM | {"csrf": csrf, "repeats": "custom", "custom": "every monday"}
    wrong = client.post("/dashboard/recurring/new", data=custom)
    assert wrong.status_code == 422
    assert "is neither a cron expression" in wrong.text and "every monday</textarea>" in wrong.text
    unknown = client.post("/dashboard/recurring/new", data=FORM | {"csrf": csrf, "lists": "x"})
    assert unknown.status_code == 422 and list_recurring(ctx) == []


def test_each_missing_role_is_refused_and_named(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    add_user(ctx.db, "april", [Role.APPROVE], None, ctx.clock)
    with_password(ctx, "april")
    csrf = log_in_client(client, "april")
    assert "needs the role 'prepare_deliveries'" in client.get("/dashboard/recurring").text
    refused = client.post("/dashboard/recurring/new", data=FORM | {"csrf": csrf})
    assert refused.status_code == 403
    assert "the role &#39;prepare_deliveries&#39; is missing" in refused.text

    with_password(ctx, "marie")
    csrf = log_in_client(client, "marie")
    unconfirmed = FORM | {"csrf": csrf, "confirm_before_send": ""}
    refused = client.post("/dashboard/recurring/new", data=unconfirmed)
    assert refused.status_code == 403
    assert "the role &#39;start_deliveries&#39; is missing" in refused.text
    assert list_recurring(ctx) == []


def test_forms_without_the_session_csrf_token_are_refused(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    with_password(ctx, "sam")
    log_in_client(client, "sam")
    for path in ("/dashboard/recurring/new", "/dashboard/recurring/1/active"):
        refused = client.post(path, data=FORM | {"csrf": "forged"})
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert list_recurring(ctx) == []


def test_an_approved_occurrence_is_confirmed_from_the_recurring_page(
    ctx: Context, clock: ManualClock, scenario: Scenario, marie: User, client: TestClient
) -> None:
    ctx.settings.approval_required = True
    scenario.audience(["ann@example.com"])
    with_password(ctx, "sam")
    csrf = log_in_client(client, "sam")
    client.post("/dashboard/recurring/new", data=FORM | {"csrf": csrf})
    [recurring] = list_recurring(ctx)
    clock.advance(dt.timedelta(days=7))
    run_due_occurrences(ctx)
    [occurrence] = occurrences_of(ctx, recurring.id)
    child = occurrence.delivery_id
    assert child is not None
    approver = add_user(ctx.db, "april", [Role.APPROVE], None, ctx.clock)
    approve_delivery(ctx, approver, child)

    csrf = log_in_client(client, "sam")  # the first session ended during the week
    page = client.get(f"/dashboard/recurring/{recurring.id}").text
    assert f'id="confirm-{child}"' in page and "(it was approved)" in page
    confirmed = client.post(
        f"/dashboard/recurring/{recurring.id}/confirm/{child}", data={"csrf": csrf}
    )
    assert "Occurrence confirmed: sending." in confirmed.text
    with ctx.db.read() as conn:
        assert get_delivery(conn, child)["state"] == "sending"


def test_the_list_sizes_of_the_form_need_the_role_that_reads_the_audience(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])
    add_user(ctx.db, "nobody", [], None, ctx.clock)
    log_in_client(client, with_password(ctx, "nobody"))
    new = client.get("/dashboard/recurring/new").text
    assert "profiles)" not in new
    assert "The lists and their sizes need the role 'prepare_deliveries'." in new


def test_a_dashboard_edit_keeps_what_the_api_set_and_the_form_does_not_show(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    csrf = log_in_client(client, with_password(ctx, "marie"))
    body = {
        "name": "Monday news",
        "subject": "Hello",
        "from_addr": "News <news@example.com>",
        "target": {"lists": ["news"]},
        **MAIL,
        "inline_css": True,
        "target_limit": 5,
        "feedback_mode": "legacy",
        "validity_hours": 12,
        "relays": ["default"],
        "recurrence": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
        "timezone": "Europe/Paris",
    }
    created = client.post("/api/recurring", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    recurring_id = created.json()["id"]

    saved = client.post(
        f"/dashboard/recurring/{recurring_id}/edit", data=FORM | {"csrf": csrf, "subject": "Hi"}
    )
    assert "Changes saved" in saved.text
    template = get_recurring(ctx, recurring_id).template
    assert template.subject == "Hi"
    kept = (
        template.inline_css,
        template.target_limit,
        template.feedback_mode,
        template.validity_hours,
        template.relays,
    )
    assert kept == (True, 5, "legacy", 12, ["default"])


def test_a_blank_time_zone_is_utc_in_the_preview_and_once_saved(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    csrf = log_in_client(client, with_password(ctx, "marie"))
    new = client.get("/dashboard/recurring/new").text
    # No zone of the server's own: the page's script fills in the browser's, as the editor's.
    assert 'name="timezone" value="" list="zones" placeholder="UTC" data-browser-zone' in new
    assert "/static/zone.js" in new and "Europe/Paris" not in new.split('id="zones"')[0]
    blank = FORM | {"csrf": csrf, "timezone": ""}
    shown = client.post("/dashboard/recurring/preview", data=blank).text
    assert "every Monday at 09:00, UTC" in shown and "data-browser-zone" not in shown
    created = client.post("/dashboard/recurring/new", data=blank)
    assert "Recurring delivery created." in created.text
    [recurring] = list_recurring(ctx)
    assert recurring.timezone == "UTC"
    assert "every Monday at 09:00, UTC" in created.text


def test_an_approved_occurrence_confirmed_from_its_delivery_page_is_an_occurrence_confirm(
    ctx: Context,
    clock: ManualClock,
    scenario: Scenario,
    marie: User,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx.settings.approval_required = True
    scenario.audience(["ann@example.com"])
    csrf = log_in_client(client, with_password(ctx, "sam"))
    client.post("/dashboard/recurring/new", data=FORM | {"csrf": csrf})
    [recurring] = list_recurring(ctx)
    clock.advance(dt.timedelta(days=7))
    run_due_occurrences(ctx)
    [occurrence] = occurrences_of(ctx, recurring.id)
    child = occurrence.delivery_id
    assert child is not None
    approve_delivery(ctx, add_user(ctx.db, "april", [Role.APPROVE], None, ctx.clock), child)

    called: list[int] = []

    def recorded(ctx: Context, user: User, delivery_id: int) -> DeliveryState:
        called.append(delivery_id)
        return confirm_occurrence(ctx, user, delivery_id)

    monkeypatch.setattr(actions, "confirm_occurrence", recorded)
    csrf = log_in_client(client, "sam")
    page = client.get(f"/dashboard/deliveries/{child}").text
    assert page.count(">Confirm send</button>") == 1  # one way to confirm it, not two
    answer = client.post(f"/dashboard/deliveries/{child}/confirm", data={"csrf": csrf})
    assert answer.status_code == 200, answer.text
    assert called == [child]
    with ctx.db.read() as conn:
        assert get_delivery(conn, child)["state"] == "sending"
