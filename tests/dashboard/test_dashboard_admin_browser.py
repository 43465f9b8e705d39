"""The users page and the address page in Debian's chromium, as an admin and as users without
the admin role: add a user, set roles, revoke a token; denylist, search, release one or in bulk."""

from __future__ import annotations

import pytest
from dashboard_helpers import (
    BROWSER_FIXTURES,
    PASSWORD,
    csrf_of,
    log_in,
    screenshot,
    with_password,
)
from playwright.sync_api import Page, expect

from mailcast.context import Context
from mailcast.domain import AddressStatus, FailureReason, Role
from mailcast.store import addresses as address_store
from mailcast.users.service import User, add_user, authenticate_token, create_token, get_user

browser, page, app_url = BROWSER_FIXTURES


@pytest.fixture
def ada(ctx: Context) -> User:
    return add_user(ctx.db, "ada", [Role.ADMIN], PASSWORD, ctx.clock)


def status_of(ctx: Context, address: str) -> str:
    with ctx.db.read() as conn:
        row = address_store.get_address_state(conn, address)
    return "valid" if row is None else str(row["status"])


def post_forged(page: Page, action: str, fields: dict[str, str]) -> int:
    """A form built in the page with the session's own CSRF token: what the server answers."""
    with page.expect_response(lambda r: r.url.endswith(action)) as answer:
        page.evaluate(
            """([action, fields]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            [action, {"csrf": csrf_of(page), **fields}],
        )
    return answer.value.status


def test_an_admin_adds_a_user_changes_roles_and_revokes_a_token(
    ctx: Context, app_url: str, page: Page, ada: User, marie: User
) -> None:
    token = create_token(ctx.db, marie, "newsletter robot", ctx.clock)
    log_in(page, app_url, "ada", path="/users")
    expect(page.get_by_role("heading", name="Users and roles")).to_be_visible()

    form = page.locator("#add-user")
    form.get_by_label("Name").fill("zoe")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label("approve_deliveries").check()
    form.get_by_role("button", name="Add the user").click()
    expect(page.get_by_role("status")).to_have_text("User zoe added.")
    zoe = page.locator("#user-zoe")
    expect(zoe.get_by_label("approve_deliveries for zoe")).to_be_checked()

    row = page.locator("#user-marie")
    row.get_by_label("start_deliveries for marie").check()
    row.get_by_label("prepare_deliveries for marie").uncheck()
    row.get_by_role("button", name="Save the roles of marie").click()
    expect(page.get_by_role("status")).to_have_text("The roles of marie are set.")
    assert get_user(ctx.db, "marie") == User(marie.id, "marie", frozenset({Role.START}))

    page.locator("#user-zoe").get_by_placeholder("label").fill("zoe's script")
    page.locator("#user-zoe").get_by_role("button", name="Issue a token for zoe").click()
    expect(page.locator("#issued-token")).to_contain_text("New API token for zoe")
    expect(page.locator("#issued-token code")).to_contain_text("mc_")

    row = page.locator("#user-marie")
    expect(row).to_contain_text("newsletter robot")
    row.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status")).to_contain_text("A token of marie is revoked")
    expect(page.locator("#user-marie")).to_contain_text("revoked")
    assert authenticate_token(ctx.db, token) is None
    screenshot(page, "admin-users.png")


def test_an_admin_keeps_the_denylist_searches_and_releases_one_or_in_bulk(
    ctx: Context, app_url: str, page: Page, ada: User
) -> None:
    held = {
        "a1@outage.example": (AddressStatus.QUARANTINE, FailureReason.UNREACHABLE),
        "a2@outage.example": (AddressStatus.ERRONEOUS, FailureReason.UNREACHABLE),
        "lost@far.example": (AddressStatus.QUARANTINE, FailureReason.USER_UNKNOWN),
        "gone@far.example": (AddressStatus.QUARANTINE, FailureReason.USER_UNKNOWN),
        "full@far.example": (AddressStatus.QUARANTINE, FailureReason.MAILBOX_FULL),
    }
    with ctx.db.write() as conn:
        for address, (status, reason) in held.items():
            address_store.set_address_status(conn, address, status, ctx.clock.now(), reason)
    log_in(page, app_url, "ada", path="/addresses")

    deny = page.locator("section.card", has_text="Add to the denylist")
    deny.get_by_label("Addresses").fill("spam-trap@bad.example\nnever@bad.example")
    deny.get_by_label("Reason").fill("asked by phone")
    deny.get_by_role("button", name="Add to the denylist").click()
    expect(page.get_by_role("status")).to_have_text("2 address(es) put on the denylist.")

    page.get_by_label("Address, part of one, or @domain").fill("@bad.example")
    page.get_by_role("button", name="Search").click()
    table = page.locator("#addresses tbody")
    expect(table.locator("tr")).to_have_count(2)
    expect(table).to_contain_text("asked by phone")
    page.get_by_role("button", name="Take never@bad.example off the denylist").click()
    expect(page.get_by_role("status")).to_have_text("1 address(es) taken off their list.")
    assert status_of(ctx, "never@bad.example") == "valid"

    page.get_by_label("Address, part of one, or @domain").fill("full@")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Release full@far.example").click()
    expect(page.get_by_role("status")).to_contain_text("1 address(es) released")
    assert status_of(ctx, "full@far.example") == "valid"

    # In bulk by domain (Cancel first: nothing is posted), then by reason.
    bulk = page.locator("#dialog-release-bulk")
    page.get_by_role("button", name="Release in bulk…").click()
    bulk.get_by_role("textbox", name="Domain").fill("outage.example")
    bulk.get_by_role("button", name="Cancel").click()
    expect(bulk).to_be_hidden()
    assert status_of(ctx, "a1@outage.example") == "quarantine"
    page.get_by_role("button", name="Release in bulk…").click()
    bulk.get_by_role("button", name="OK").click()
    expect(page.get_by_role("status")).to_contain_text("2 address(es) released")

    page.get_by_role("button", name="Release in bulk…").click()
    bulk.get_by_role("combobox", name="Failure reason").select_option("user_unknown")
    screenshot(page, "admin-release-bulk-dialog.png")
    bulk.get_by_role("button", name="OK").click()
    expect(page.get_by_role("status")).to_contain_text("2 address(es) released")
    assert {a: status_of(ctx, a) for a in held} == dict.fromkeys(held, "valid")
    assert status_of(ctx, "spam-trap@bad.example") == "denylist"
    screenshot(page, "admin-addresses.png")


@pytest.mark.parametrize("role", [Role.PREPARE, Role.APPROVE, Role.START])
def test_without_the_admin_role_users_and_addresses_are_refused(
    ctx: Context, app_url: str, page: Page, ada: User, role: Role
) -> None:
    """Each role that is not admin: the pages say what is missing; a forged post changes nothing."""
    add_user(ctx.db, "eve", [role], PASSWORD, ctx.clock)
    with ctx.db.write() as conn:
        address_store.set_address_status(
            conn, "held@x.example", AddressStatus.QUARANTINE, ctx.clock.now(), None
        )
    log_in(page, app_url, with_password(ctx, "eve"), path="/users")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("may not manage_users: the role 'admin' is missing")
    expect(page.locator("#users")).to_have_count(0)
    if role is Role.PREPARE:
        screenshot(page, "admin-users-refused.png")

    assert post_forged(page, f"/dashboard/users/{ada.id}/roles", {"role": role.value}) == 403
    expect(page.get_by_role("alert")).to_contain_text("the role 'admin' is missing")
    assert get_user(ctx.db, "ada") == ada

    page.goto(f"{app_url}/dashboard/addresses")
    expect(alert).to_contain_text("may not manage_quarantine: the role 'admin' is missing")
    status = post_forged(page, "/dashboard/addresses/release-bulk", {"domain": "x.example"})
    assert status == 403 and status_of(ctx, "held@x.example") == "quarantine"
    expect(page.get_by_role("alert")).to_contain_text("the role 'admin' is missing")
