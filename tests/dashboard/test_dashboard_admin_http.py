"""The users page and the address releases over HTTP (real app, no browser): roles, CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from dashboard_helpers import PASSWORD, log_in_client, with_password
from fastapi.testclient import TestClient

from mailcast.context import Context
from mailcast.domain import AddressStatus, FailureReason, Role
from mailcast.store import addresses as address_store
from mailcast.users.service import (
    User,
    add_user,
    authenticate_token,
    create_token,
    get_user,
    list_tokens,
)
from mailcast.web.app import create_app


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def ada(ctx: Context) -> User:
    return add_user(ctx.db, "ada", [Role.ADMIN], PASSWORD, ctx.clock)


def hold(ctx: Context, states: dict[str, tuple[AddressStatus, FailureReason | None]]) -> None:
    with ctx.db.write() as conn:
        for address, (status, reason) in states.items():
            address_store.set_address_status(conn, address, status, ctx.clock.now(), reason)


def status_of(ctx: Context, address: str) -> str:
    with ctx.db.read() as conn:
        row = address_store.get_address_state(conn, address)
    return "valid" if row is None else str(row["status"])


# --- Users ----------------------------------------------------------------------------------


def test_an_admin_adds_a_user_sets_roles_and_revokes_a_token(
    ctx: Context, client: TestClient, ada: User, marie: User
) -> None:
    csrf = log_in_client(client, "ada")
    listed = client.get("/dashboard/users")
    assert listed.status_code == 200 and 'id="user-marie"' in listed.text

    added = client.post(
        "/dashboard/users",
        data={"csrf": csrf, "name": "zoe", "password": PASSWORD, "role": ["approve_deliveries"]},
    )
    assert added.status_code == 200 and "User zoe added." in added.text
    zoe = get_user(ctx.db, "zoe")
    assert zoe is not None and zoe.roles == {Role.APPROVE}

    roles = {"csrf": csrf, "role": ["start_deliveries", "admin"]}
    answer = client.post(f"/dashboard/users/{marie.id}/roles", data=roles)
    assert answer.status_code == 200 and "The roles of marie are set." in answer.text
    assert get_user(ctx.db, "marie") == User(marie.id, "marie", frozenset({Role.START, Role.ADMIN}))

    issued = client.post(f"/dashboard/users/{marie.id}/tokens", data={"csrf": csrf, "label": "ci"})
    token = re.search(r'<code class="token">(mc_[^<]+)</code>', issued.text)
    assert issued.status_code == 200 and token is not None
    assert authenticate_token(ctx.db, token.group(1)) is not None
    (info,) = list_tokens(ctx.db, "marie")
    revoke = f"/dashboard/users/{marie.id}/tokens/{info.id}/revoke"
    answer = client.post(revoke, data={"csrf": csrf})
    assert answer.status_code == 200 and "A token of marie is revoked" in answer.text
    assert authenticate_token(ctx.db, token.group(1)) is None
    again = client.post(revoke, data={"csrf": csrf})
    assert again.status_code == 422 and f"no live token {info.id}" in again.text


def test_the_users_page_says_why_a_change_cannot_be_made(
    ctx: Context, client: TestClient, ada: User
) -> None:
    csrf = log_in_client(client, "ada")
    twice = client.post("/dashboard/users", data={"csrf": csrf, "name": "ada"})
    assert twice.status_code == 422 and "already exists" in twice.text.lower()
    short = client.post("/dashboard/users", data={"csrf": csrf, "name": "x", "password": "short"})
    assert short.status_code == 422 and "at least 8 characters" in short.text
    unknown = client.post("/dashboard/users/999/roles", data={"csrf": csrf, "role": ["admin"]})
    assert unknown.status_code == 422 and "no user 999" in unknown.text.lower()
    bad_role = client.post(f"/dashboard/users/{ada.id}/roles", data={"csrf": csrf, "role": "god"})
    assert bad_role.status_code == 422 and "unknown role" in bad_role.text.lower()


def test_without_admin_the_users_page_and_each_form_are_refused(
    ctx: Context, client: TestClient, ada: User, sam: User
) -> None:
    token = create_token(ctx.db, ada, "ops", ctx.clock)
    (info,) = list_tokens(ctx.db, "ada")
    csrf = log_in_client(client, with_password(ctx, "sam"))
    page = client.get("/dashboard/users")
    assert page.status_code == 403 and "the role &#39;admin&#39; is missing" in page.text
    assert 'id="users"' not in page.text
    posts = {
        "/dashboard/users": {"name": "eve", "role": "admin"},
        f"/dashboard/users/{sam.id}/roles": {"role": "admin"},
        f"/dashboard/users/{ada.id}/tokens": {"label": "mine now"},
        f"/dashboard/users/{ada.id}/tokens/{info.id}/revoke": {},
    }
    for path, form in posts.items():
        answer = client.post(path, data={"csrf": csrf, **form})
        assert answer.status_code == 403, path
        assert "may not manage_users: the role &#39;admin&#39; is missing" in answer.text
    assert get_user(ctx.db, "eve") is None and get_user(ctx.db, "sam") == sam
    assert authenticate_token(ctx.db, token) == ada and len(list_tokens(ctx.db, "ada")) == 1


def test_a_users_form_without_the_sessions_csrf_token_is_refused(
    ctx: Context, client: TestClient, ada: User, marie: User
) -> None:
    log_in_client(client, "ada")
    token = create_token(ctx.db, marie, None, ctx.clock)
    (info,) = list_tokens(ctx.db, "marie")
    for path, form in {
        "/dashboard/users": {"name": "eve", "role": "admin"},
        f"/dashboard/users/{marie.id}/roles": {"role": "admin"},
        f"/dashboard/users/{marie.id}/tokens": {},
        f"/dashboard/users/{marie.id}/tokens/{info.id}/revoke": {},
        "/dashboard/addresses/release": {"address": "q@example.com"},
        "/dashboard/addresses/release-bulk": {"domain": "example.com"},
    }.items():
        for csrf in ({}, {"csrf": "forged"}):
            answer = client.post(path, data={**form, **csrf})
            assert answer.status_code == 403 and "CSRF token" in answer.text, path
    assert get_user(ctx.db, "eve") is None and get_user(ctx.db, "marie") == marie
    assert authenticate_token(ctx.db, token) == marie and len(list_tokens(ctx.db, "marie")) == 1


# --- Releases -------------------------------------------------------------------------------

HELD = {
    "q1@outage.example": (AddressStatus.QUARANTINE, FailureReason.UNREACHABLE),
    "q2@outage.example": (AddressStatus.ERRONEOUS, FailureReason.MAILBOX_FULL),
    "d@outage.example": (AddressStatus.DENYLIST, None),
    "u@other.example": (AddressStatus.QUARANTINE, FailureReason.USER_UNKNOWN),
    "r@other.example": (AddressStatus.QUARANTINE, FailureReason.REFUSED),
}


def test_an_admin_releases_one_address_then_in_bulk_by_domain_and_by_reason(
    ctx: Context, client: TestClient, ada: User
) -> None:
    hold(ctx, HELD)
    csrf = log_in_client(client, "ada")
    listed = client.get("/dashboard/addresses").text
    assert 'aria-label="Release u@other.example"' in listed
    assert 'aria-label="Release d@outage.example"' not in listed  # removed, not released

    one = client.post(
        "/dashboard/addresses/release", data={"csrf": csrf, "address": "r@other.example"}
    )
    assert one.status_code == 200 and "1 address(es) released" in one.text
    assert status_of(ctx, "r@other.example") == "valid"

    bulk = {"csrf": csrf, "domain": "outage.example", "status": ["quarantine", "erroneous"]}
    answer = client.post("/dashboard/addresses/release-bulk", data=bulk)
    assert answer.status_code == 200 and "2 address(es) released" in answer.text
    assert status_of(ctx, "q1@outage.example") == status_of(ctx, "q2@outage.example") == "valid"
    assert status_of(ctx, "d@outage.example") == "denylist"  # not ticked: left alone

    by_reason = {"csrf": csrf, "reason": "user_unknown"}  # no status ticked: the bulk default
    answer = client.post("/dashboard/addresses/release-bulk", data=by_reason)
    assert answer.status_code == 200 and "1 address(es) released" in answer.text
    assert status_of(ctx, "u@other.example") == "valid"

    ticked = {"csrf": csrf, "domain": "@outage.example", "status": "denylist"}
    answer = client.post("/dashboard/addresses/release-bulk", data=ticked)
    assert "1 address(es) released" in answer.text and status_of(ctx, "d@outage.example") == "valid"


def test_a_bulk_release_needs_a_domain_or_a_reason_and_an_admin(
    ctx: Context, client: TestClient, ada: User, marie: User
) -> None:
    hold(ctx, HELD)
    csrf = log_in_client(client, "ada")
    nothing = client.post("/dashboard/addresses/release-bulk", data={"csrf": csrf})
    assert nothing.status_code == 422 and "nothing to release" in nothing.text.lower()
    bad = client.post("/dashboard/addresses/release-bulk", data={"csrf": csrf, "reason": "x"})
    assert bad.status_code == 422 and "no failure reason" in bad.text.lower()

    client.cookies.clear()
    csrf = log_in_client(client, with_password(ctx, "marie"))
    for path, form in {
        "/dashboard/addresses/release": {"address": "u@other.example"},
        "/dashboard/addresses/release-bulk": {"domain": "other.example"},
    }.items():
        answer = client.post(path, data={"csrf": csrf, **form})
        assert answer.status_code == 403, path
        assert "may not manage_quarantine: the role &#39;admin&#39; is missing" in answer.text
    assert all(status_of(ctx, address) == held[0].value for address, held in HELD.items())


def test_the_users_notice_names_the_user_it_looks_up_never_what_the_url_says(
    ctx: Context, client: TestClient, ada: User
) -> None:
    log_in_client(client, "ada")
    shown = client.get("/dashboard/users", params={"done": "added", "user": str(ada.id)})
    assert "User ada added." in shown.text
    for forged in ({"name": "Mallory"}, {"user": "999"}, {"user": "9" * 40}, {"user": "-1"}):
        answer = client.get("/dashboard/users", params={"done": "added", **forged})
        assert answer.status_code == 200 and " added." not in answer.text, forged
        assert "Mallory" not in answer.text


def test_a_token_label_or_a_password_too_long_is_refused_with_a_clear_error(
    ctx: Context, client: TestClient, ada: User, marie: User
) -> None:
    csrf = log_in_client(client, "ada")
    label = client.post(
        f"/dashboard/users/{marie.id}/tokens", data={"csrf": csrf, "label": "l" * 101}
    )
    assert label.status_code == 422
    assert "token&#39;s label has at most 100 characters" in label.text
    assert list_tokens(ctx.db, "marie") == []
    added = client.post(
        "/dashboard/users", data={"csrf": csrf, "name": "zoe", "password": "p" * 1001}
    )
    assert added.status_code == 422 and "password has at most 1000 characters" in added.text
    assert get_user(ctx.db, "zoe") is None
