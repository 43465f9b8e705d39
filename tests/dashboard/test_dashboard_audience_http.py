"""The audience in the dashboard over HTTP: lists, CSV import, a profile's page, an operator's
unsubscribe and resubscribe with its reason, refusals and CSRF."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dashboard_helpers import MAIL, log_in_client, with_password
from fastapi.testclient import TestClient

from address_people import ANGRY, GONE, people_with_a_past
from conftest import Scenario
from mailcast.audience.subscriptions import subscription_changes
from mailcast.context import Context
from mailcast.domain import Role
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store import history as history_store
from mailcast.users.service import add_user
from mailcast.web.app import create_app
from mailcast.web.dashboard.audience import IMPORT_PATH
from mailcast.web.limits import UPLOAD_PATHS

CSV = (
    b"email,first_name,city\n"
    b"ann@example.com,Ann,Paris\n"
    b"not-an-address,Bob,Lyon\n"
    b"cy@example.com,Cy,Nice\n"
    b"ann@example.com,Annie,\n"
    b",Nobody,Brest\n"
)


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _import(client: TestClient, csrf: str, body: bytes = CSV, list_name: str = "news") -> str:
    answer = client.post(
        IMPORT_PATH,
        data={"csrf": csrf, "list": list_name},
        files={"file": ("people.csv", body, "text/csv")},
    )
    return f"{answer.status_code} {answer.text}"


def _profile_id(ctx: Context, address: str) -> int:
    with ctx.db.read() as conn:
        row = history_store.profile_by_address(conn, address)
    assert row is not None
    return int(row["id"])


def test_the_import_is_streamed_to_disk_under_the_upload_cap() -> None:
    assert IMPORT_PATH in UPLOAD_PATHS


def test_a_csv_import_shows_the_result_and_the_errors_by_line(
    ctx: Context, marie: object, client: TestClient
) -> None:
    with_password(ctx, "marie")
    csrf = log_in_client(client, "marie")
    answer = _import(client, csrf)
    assert answer.startswith("200 ")
    assert "5 rows read: 2 new profiles, 0 updated, 1 merged with an earlier row" in answer
    assert "2 left out with an error." in answer
    assert '<tr><td class="num">3</td><td>' in answer  # not-an-address, on line 3
    assert '<tr><td class="num">6</td><td>' in answer  # no address, on line 6
    assert '<tr><td>news</td><td class="num">2</td></tr>' in answer

    no_email = _import(client, csrf, b"name\nann\n")
    assert no_email.startswith("422 ") and "email" in no_email
    no_list = _import(client, csrf, list_name=" ")
    assert no_list.startswith("422 ") and "Name the list to import into." in no_list


def test_an_admin_unsubscribes_and_resubscribes_a_profile_with_the_reason_kept(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])
    scenario.prepared(**MAIL, name="Winter news")
    ann = _profile_id(ctx, "ann@example.com")
    add_user(ctx.db, "ada", [Role.ADMIN, Role.PREPARE], None, ctx.clock)
    with_password(ctx, "ada")
    csrf = log_in_client(client, "ada")

    found = client.get("/dashboard/audience/profiles", params={"email": "ANN@example.com"})
    assert found.url.path == f"/dashboard/audience/profiles/{ann}"
    assert (
        "Winter news" in found.text and ">news<" in found.text and "Name</strong> P0" in found.text
    )

    path = f"/dashboard/audience/profiles/{ann}/subscription"
    empty = client.post(path, data={"csrf": csrf, "subscribed": "no", "reason": " "})
    assert empty.status_code == 422 and "Give the reason" in empty.text
    done = client.post(path, data={"csrf": csrf, "subscribed": "no", "reason": "asked by phone"})
    assert "Unsubscribed: no delivery is sent" in done.text
    assert '<strong id="subscribed">unsubscribed</strong>' in done.text
    assert "<td>asked by phone</td>" in done.text
    again = client.post(path, data={"csrf": csrf, "subscribed": "no", "reason": "twice"})
    assert again.status_code == 422 and "unsubscribed already" in again.text

    back = client.post(path, data={"csrf": csrf, "subscribed": "yes", "reason": "signed up"})
    assert "Resubscribed" in back.text
    changes = subscription_changes(ctx, ann)
    assert [(c.subscribed, c.reason, c.changed_by) for c in changes] == [
        (True, "signed up", "ada"),
        (False, "asked by phone", "ada"),
    ]


def test_each_missing_role_is_refused_and_named(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    ann = _profile_id(ctx, "ann@example.com")
    add_user(ctx.db, "nobody", [], None, ctx.clock)
    with_password(ctx, "nobody")
    csrf = log_in_client(client, "nobody")
    refused = _import(client, csrf)
    assert (
        refused.startswith("403 ") and "the role &#39;prepare_deliveries&#39; is missing" in refused
    )
    assert "needs the role 'prepare_deliveries'" in client.get("/dashboard/audience").text
    page = client.get(f"/dashboard/audience/profiles/{ann}")
    assert page.status_code == 403 and "may not read_logs" in page.text
    # Looking an address up tells whether it is known: the API's profile_by_email role too.
    found = client.get("/dashboard/audience/profiles", params={"email": "ann@example.com"})
    assert found.status_code == 403 and "may not read_logs" in found.text
    assert "location" not in found.headers

    with_password(ctx, "marie")
    csrf = log_in_client(client, "marie")
    path = f"/dashboard/audience/profiles/{ann}/subscription"
    profile_page = client.get(f"/dashboard/audience/profiles/{ann}").text
    assert "needs the role 'admin'" in profile_page
    refused_change = client.post(path, data={"csrf": csrf, "subscribed": "no", "reason": "x"})
    assert refused_change.status_code == 403
    assert "the role &#39;admin&#39; is missing" in refused_change.text
    assert subscription_changes(ctx, ann) == []


def test_forms_without_the_session_csrf_token_are_refused(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    ann = _profile_id(ctx, "ann@example.com")
    add_user(ctx.db, "ada", [Role.ADMIN, Role.PREPARE], None, ctx.clock)
    with_password(ctx, "ada")
    log_in_client(client, "ada")
    forged = _import(client, "forged", b"email\nzed@example.com\n")
    assert forged.startswith("403 ") and "CSRF" in forged
    path = f"/dashboard/audience/profiles/{ann}/subscription"
    refused = client.post(path, data={"csrf": "forged", "subscribed": "no", "reason": "x"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert subscription_changes(ctx, ann) == []
    with ctx.db.read() as conn:
        assert history_store.profile_by_address(conn, "zed@example.com") is None


def test_a_profile_page_shows_a_complaint_in_its_history_and_its_address_state(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, client: TestClient
) -> None:
    people_with_a_past(ctx, scenario)
    with_password(ctx, "marie")
    log_in_client(client, "marie")
    angry = client.get(f"/dashboard/audience/profiles/{_profile_id(ctx, ANGRY)}").text
    assert 'id="standing">complained</span>' in angry
    assert 'id="address-status">denylist</span>' in angry
    assert "complained on 2026-01-05" in angry
    history = angry.split('id="history"')[1]
    # the Spring line: when it was sent and, in the Complained column, when it complained
    assert ">Spring</a>" in history and history.count("2026-01-05 09:00 UTC</td>") == 2
    gone = client.get(f"/dashboard/audience/profiles/{_profile_id(ctx, GONE)}").text
    assert 'id="standing">unsubscribed</span>' in gone
