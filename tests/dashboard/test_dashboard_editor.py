"""The delivery editor over HTTP (real app, no browser): its routes, roles, CSRF and errors."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from dashboard_helpers import MAIL, form_csrf, log_in_client, with_password
from fastapi.testclient import TestClient

from conftest import Scenario
from mailcast.context import Context
from mailcast.domain import Role
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store.deliveries import NotFound, get_delivery, list_deliveries
from mailcast.users.service import add_user
from mailcast.web.app import create_app


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _form(**changes: str | list[str] | None) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str]] = {
        "name": "Spring sale",
        "subject": "Hello {{ first_name }}",
        "from_addr": "News <news@example.com>",
        "reply_to": "",
        "html": MAIL["html"],
        "text": MAIL["text"],
        "lists": ["news"],
        "filter": "",
        "target_limit": "",
        "send_date": "",
        "send_time": "",
        "send_timezone": "",
        "validity_hours": "48",
        "feedback_mode": "efs",
        "track_opens": "yes",  # ticked, as the new form shows them
        "track_clicks": "yes",
        "approval": "",
    }
    return {k: v for k, v in (fields | changes).items() if v is not None}


def _row(ctx: Context, delivery_id: int) -> dict[str, object]:
    with ctx.db.read() as conn:
        return dict(get_delivery(conn, delivery_id))


def _created(answer_location: str) -> int:
    found = re.search(r"/deliveries/(\d+)/edit", answer_location)
    assert found, answer_location
    return int(found.group(1))


def test_create_then_edit_a_delivery_with_every_field(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])
    csrf = log_in_client(client, with_password(ctx, "marie"))
    assert "New delivery" in client.get("/dashboard/").text
    page = client.get("/dashboard/deliveries/new")
    assert page.status_code == 200 and "news" in page.text

    answer = client.post(
        "/dashboard/deliveries/new",
        data=_form(
            csrf=csrf,
            send_date="2030-03-01",
            send_time="09:30",
            send_timezone="Europe/Paris",
            target_limit="10",
        ),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    delivery_id = _created(answer.headers["location"])
    row = _row(ctx, delivery_id)
    assert row["state"] == "draft" and row["name"] == "Spring sale"
    assert row["send_at"] == dt.datetime(2030, 3, 1, 8, 30, tzinfo=dt.UTC)  # 09:30 in Paris
    assert (row["send_timezone"], row["validity_hours"], row["feedback_mode"]) == (
        "Europe/Paris",
        48,
        "efs",
    )
    assert row["target_limit"] == 10

    page = client.get(f"/dashboard/deliveries/{delivery_id}/edit")
    assert page.status_code == 200
    assert 'value="09:30"' in page.text and 'value="2030-03-01"' in page.text  # in its zone
    assert "2030-03-01 09:30 Europe/Paris (2030-03-01 08:30 UTC)" in page.text

    answer = client.post(
        f"/dashboard/deliveries/{delivery_id}/edit",
        data=_form(
            csrf=csrf,
            name="Spring sale, take 2",
            filter='first_name = "P1"',
            validity_hours="12",
            feedback_mode="legacy",
            reply_to="help@example.com",
        ),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    row = _row(ctx, delivery_id)
    assert row["name"] == "Spring sale, take 2" and row["version"] == 2
    assert row["target"] == {"lists": ["news"], "filter": 'first_name = "P1"'}
    assert (row["validity_hours"], row["feedback_mode"], row["reply_to"]) == (
        12,
        "legacy",
        "help@example.com",
    )
    assert row["send_at"] is None  # the schedule was cleared in the form

    shown = client.get(f"/dashboard/deliveries/{delivery_id}")
    assert f'href="/dashboard/deliveries/{delivery_id}/edit"' in shown.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"filter": 'city = "Paris" and'}, "invalid filter: expected a field name"),
        ({"send_timezone": "Mars/Olympus", "send_date": "2030-01-01"}, "unknown time zone"),
        ({"lists": ["no-such-list"]}, "unknown list: &#39;no-such-list&#39;"),
        ({"lists": []}, "a target needs at least one list"),
        ({"name": "  "}, "Name is required"),
        ({"send_time": "10:00"}, "The send time needs a send date"),
        ({"validity_hours": "0"}, "The validity period must be between 1 and"),
        ({"target_limit": "many"}, "The target limit must be a whole number"),
        ({"subject": "Hi\r\nBcc: x@example.com"}, "Subject must be on one line"),
    ],
)
def test_a_bad_field_comes_back_with_its_error_and_the_form_as_sent(
    ctx: Context, scenario: Scenario, client: TestClient, changes: dict[str, str], message: str
) -> None:
    scenario.audience(["ann@example.com"])
    csrf = log_in_client(client, with_password(ctx, "marie"))
    answer = client.post("/dashboard/deliveries/new", data=_form(csrf=csrf, **changes))
    assert answer.status_code == 422
    assert message.lower() in answer.text.lower(), answer.text
    assert 'value="Spring sale"' in answer.text or "name" in changes  # kept as typed
    with ctx.db.read() as conn:
        assert list_deliveries(conn) == []


def test_the_live_count_and_the_filter_error(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com", "cat@other.org"])
    log_in_client(client, with_password(ctx, "marie"))
    url = "/dashboard/deliveries/target-count.json"
    assert client.get(url, params={"lists": "news"}).json() == {"count": 3}
    answer = client.get(url, params={"lists": "news", "filter": 'domain = "example.com"'})
    assert answer.json() == {"count": 2}
    answer = client.get(url, params={"lists": "news", "filter": "domain = "})
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("invalid filter:")
    assert "column" in answer.json()["error"]


def test_the_draft_preview_renders_unsaved_content_in_the_sandbox(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])
    csrf = log_in_client(client, with_password(ctx, "marie"))
    form = _form(
        csrf=csrf,
        html="<p>Hey {{ first_name }}</p><script>alert(1)</script>",
        preview_email="bob@example.com",
    )
    answer = client.post("/dashboard/deliveries/preview-draft", data=form)
    assert answer.status_code == 200
    assert "<p>Hey P1</p>" in answer.text and "To: bob@example.com" in answer.text
    policy = answer.headers["content-security-policy"].split("; ")
    assert policy[0] == "sandbox" and "script-src 'none'" in policy

    text = client.post("/dashboard/deliveries/preview-draft", data=form | {"preview_view": "text"})
    assert "Hi P1, unsubscribe:" in text.text
    broken = client.post("/dashboard/deliveries/preview-draft", data=form | {"html": "{{ x"})
    assert "No preview:" in broken.text
    nobody = client.post(
        "/dashboard/deliveries/preview-draft", data=form | {"preview_email": "z@x.org"}
    )
    assert "no profile has the address" in nobody.text
    no_csrf = client.post("/dashboard/deliveries/preview-draft", data=form | {"csrf": "x"})
    assert no_csrf.status_code == 403


def test_every_editor_form_needs_the_csrf_token(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.delivery()
    log_in_client(client, with_password(ctx, "marie"))
    for path in ("new", f"{delivery_id}/edit", f"{delivery_id}/delete", f"{delivery_id}/proofs"):
        for csrf in ({}, {"csrf": "wrong"}):
            answer = client.post(f"/dashboard/deliveries/{path}", data=_form(**csrf))
            assert answer.status_code == 403, path
            assert "CSRF token is missing or wrong" in answer.text
    assert _row(ctx, delivery_id)["version"] == 1


def test_without_prepare_deliveries_nothing_can_be_created_edited_or_deleted(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.delivery()
    add_user(ctx.db, "alice", [Role.APPROVE], None, ctx.clock)
    csrf = log_in_client(client, with_password(ctx, "alice"))
    refusal = "may not {}: the role &#39;prepare_deliveries&#39; is missing"
    for path, action in (("new", "create_delivery"), (f"{delivery_id}/edit", "edit_delivery")):
        page = client.get(f"/dashboard/deliveries/{path}")
        assert page.status_code == 403 and refusal.format(action) in page.text
        answer = client.post(f"/dashboard/deliveries/{path}", data=_form(csrf=csrf))
        assert answer.status_code == 403 and refusal.format(action) in answer.text
    answer = client.post(f"/dashboard/deliveries/{delivery_id}/delete", data={"csrf": csrf})
    assert answer.status_code == 403 and refusal.format("delete_delivery") in answer.text
    answer = client.post(
        f"/dashboard/deliveries/{delivery_id}/proofs", data={"csrf": csrf, "addresses": "a@b.c"}
    )
    assert answer.status_code == 403 and refusal.format("edit_delivery") in answer.text
    assert _row(ctx, delivery_id)["version"] == 1
    with ctx.db.read() as conn:
        assert len(list_deliveries(conn)) == 1


def test_save_and_prepare_shows_the_findings_and_the_exclusions(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com", None, "bob@example.com"])
    delivery_id = scenario.delivery()
    csrf = log_in_client(client, with_password(ctx, "marie"))
    answer = client.post(
        f"/dashboard/deliveries/{delivery_id}/edit?then=prepare",
        data=_form(csrf=csrf, target_limit="1"),
    )
    assert answer.status_code == 200, answer.text
    assert "Preparation finished" in answer.text
    assert _row(ctx, delivery_id)["state"] == "ready"
    exclusions = answer.text[answer.text.index('id="exclusions"') :]
    assert "<strong>1</strong> address empty" in exclusions
    assert "<strong>1</strong> target limit" in exclusions
    assert "<strong>1</strong> message(s) to deliver" in answer.text

    # A body without an unsubscribe link: a blocking control rule, shown; still a draft.
    answer = client.post(
        f"/dashboard/deliveries/{delivery_id}/edit?then=prepare",
        data=_form(csrf=csrf, html="<p>Hi</p>", text="Hi"),
    )
    assert "Blocked" in answer.text and "unsubscribe" in answer.text
    assert _row(ctx, delivery_id)["state"] == "draft"


def test_proofs_go_to_the_addresses_and_their_replies_are_listed(
    ctx: Context, scenario: Scenario, client: TestClient, mta: SandboxMTA
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.delivery(**MAIL)
    csrf = log_in_client(client, with_password(ctx, "marie"))
    answer = client.post(
        f"/dashboard/deliveries/{delivery_id}/proofs",
        data={"csrf": csrf, "addresses": "qa@example.com, ann@example.com"},
    )
    assert answer.status_code == 200 and "Proofs sent" in answer.text
    assert mta.count == 2
    assert answer.text.count("<td>qa@example.com</td>") == 1
    assert "250" in answer.text
    assert _row(ctx, delivery_id)["proof_addresses"] == ["qa@example.com", "ann@example.com"]

    bad = client.post(
        f"/dashboard/deliveries/{delivery_id}/proofs", data={"csrf": csrf, "addresses": "nope"}
    )
    assert bad.status_code == 409 and "is not a valid proof address" in bad.text


def test_a_draft_is_deleted_with_the_dashboard_and_the_api_but_nothing_else(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    draft, prepared = scenario.delivery(), scenario.prepared()
    csrf = log_in_client(client, with_password(ctx, "marie"))
    page = client.get(f"/dashboard/deliveries/{draft}/edit")
    assert "Delete this draft" in page.text
    answer = client.post(f"/dashboard/deliveries/{draft}/delete", data={"csrf": csrf})
    assert answer.status_code == 200 and f"Draft #{draft} deleted." in answer.text
    with pytest.raises(NotFound), ctx.db.read() as conn:
        get_delivery(conn, draft)

    answer = client.post(f"/dashboard/deliveries/{prepared}/delete", data={"csrf": csrf})
    assert answer.status_code == 409 and "Only a draft can be deleted" in answer.text
    assert _row(ctx, prepared)["state"] == "ready"

    # The API's DELETE: the same service, the same rule (a session needs its CSRF header).
    other = scenario.delivery()
    headers = {"X-CSRF-Token": form_csrf(answer.text)}
    assert client.delete(f"/api/deliveries/{prepared}", headers=headers).status_code == 409
    assert client.delete(f"/api/deliveries/{other}", headers=headers).status_code == 204
    assert client.get(f"/api/deliveries/{other}").status_code == 404


def test_the_api_edits_validity_and_feedback_mode_as_the_editor_does(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.delivery()
    csrf = log_in_client(client, with_password(ctx, "marie"))
    body = {"validity_hours": 12, "feedback_mode": "efs"}
    answer = client.patch(
        f"/api/deliveries/{delivery_id}", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["validity_hours"], answer.json()["feedback_mode"]) == (12, "efs")
    untouched = client.patch(
        f"/api/deliveries/{delivery_id}", json={"name": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert (untouched.json()["validity_hours"], untouched.json()["feedback_mode"]) == (12, "efs")


def test_the_live_count_needs_the_role_that_reads_the_audience(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    add_user(ctx.db, "nobody", [], None, ctx.clock)
    log_in_client(client, with_password(ctx, "nobody"))
    answer = client.get("/dashboard/deliveries/target-count.json", params={"lists": "news"})
    assert answer.status_code == 403
    refusal = "user 'nobody' may not read_logs: the role 'prepare_deliveries' is missing"
    assert answer.json() == {"error": refusal}


def test_numbers_and_ids_too_large_for_a_column_are_refused_not_a_server_error(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.delivery()
    csrf = log_in_client(client, with_password(ctx, "marie"))
    for limit in ("2147483648", "9" * 30):
        answer = client.post(
            f"/dashboard/deliveries/{delivery_id}/edit", data=_form(csrf=csrf, target_limit=limit)
        )
        assert answer.status_code == 422
        assert "The target limit must be between 0 and 2147483647" in answer.text
    assert _row(ctx, delivery_id)["version"] == 1
    huge = "9" * 20
    for path in (
        f"/dashboard/deliveries/{huge}/edit",
        f"/dashboard/audience/profiles/{huge}",
        f"/dashboard/recurring/{huge}",
        f"/dashboard/recurring/{huge}/edit",
    ):
        assert client.get(path).status_code == 422, path
    answer = client.post(f"/dashboard/deliveries/{huge}/delete", data={"csrf": csrf})
    assert answer.status_code == 422


def test_editing_a_delivery_that_is_gone_answers_the_dashboards_404_page(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.delivery()
    csrf = log_in_client(client, with_password(ctx, "marie"))
    client.post(f"/dashboard/deliveries/{delivery_id}/delete", data={"csrf": csrf})
    for gone, path in ((delivery_id, "edit"), (999, "edit"), (delivery_id, "edit?then=prepare")):
        answer = client.post(f"/dashboard/deliveries/{gone}/{path}", data=_form(csrf=csrf))
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html")
        assert f"No delivery {gone}." in answer.text and "Back to the deliveries" in answer.text


def test_the_api_refuses_a_validity_shorter_than_an_hour_as_the_editor_does(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.delivery()
    csrf = log_in_client(client, with_password(ctx, "marie"))
    headers = {"X-CSRF-Token": csrf}
    for hours in (0.3, 0):
        answer = client.patch(
            f"/api/deliveries/{delivery_id}", json={"validity_hours": hours}, headers=headers
        )
        assert answer.status_code == 422, answer.text
    answer = client.post(
        f"/dashboard/deliveries/{delivery_id}/edit", data=_form(csrf=csrf, validity_hours="0.3")
    )
    assert answer.status_code == 422 and "between 1 and" in answer.text
    assert _row(ctx, delivery_id)["version"] == 1


def test_the_page_after_a_delete_shows_only_a_number_from_the_url(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    log_in_client(client, with_password(ctx, "marie"))
    assert "Draft #12 deleted." in client.get("/dashboard/?deleted=12").text
    forged = client.get("/dashboard/", params={"deleted": "1 and call 555-0100"})
    assert "deleted." not in forged.text and "555-0100" not in forged.text


def test_the_tracking_options_and_the_approval_are_the_deliverys_own(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience(["ann@example.com"])
    csrf = log_in_client(client, with_password(ctx, "marie"))
    page = client.get("/dashboard/deliveries/new").text
    assert 'name="track_opens" value="yes" checked' in page
    assert 'name="track_clicks" value="yes" checked' in page
    answer = client.post("/dashboard/deliveries/new", data=_form(csrf=csrf), follow_redirects=False)
    delivery_id = _created(answer.headers["location"])
    row = _row(ctx, delivery_id)
    assert (row["track_opens"], row["track_clicks"], row["approval_required"]) == (True, True, None)

    answer = client.post(
        f"/dashboard/deliveries/{delivery_id}/edit",
        data=_form(csrf=csrf, track_clicks=None, approval="required"),  # unticked: not sent
        follow_redirects=False,
    )

    assert answer.status_code == 303, answer.text
    row = _row(ctx, delivery_id)
    assert (row["track_opens"], row["track_clicks"], row["approval_required"]) == (
        True,
        False,
        True,
    )
    page = client.get(f"/dashboard/deliveries/{delivery_id}/edit").text
    assert 'name="track_clicks" value="yes" >' in page
    assert '<option value="required" selected>' in page
    bad = client.post(
        f"/dashboard/deliveries/{delivery_id}/edit", data=_form(csrf=csrf, approval="maybe")
    )
    assert bad.status_code == 422 and "Approval is one of" in bad.text
