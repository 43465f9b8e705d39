"""The dashboard's address page over HTTP (real app, no browser): search, opt-outs, forms."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from dashboard_helpers import PASSWORD, log_in_client, with_password
from fastapi.testclient import TestClient

from address_people import ANGRY, FINE, GONE, people_with_a_past
from conftest import Scenario
from mailcast.context import Context
from mailcast.domain import Role
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store import addresses as address_store
from mailcast.users.service import User, add_user
from mailcast.web.app import create_app


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def ada(ctx: Context) -> User:
    return add_user(ctx.db, "ada", [Role.ADMIN], PASSWORD, ctx.clock)


def status_of(ctx: Context, address: str) -> str | None:
    with ctx.db.read() as conn:
        row = address_store.get_address_state(conn, address)
    return None if row is None else str(row["status"])


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def rows(page: str) -> dict[str, str]:
    """The list's rows by address: their cells' text joined by ' | '."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells and "@" in cells[0]:
            found[cells[0]] = " | ".join(cells)
    return found


def test_the_page_shows_who_complained_and_who_unsubscribed_and_searches(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, client: TestClient, ada: User
) -> None:
    people_with_a_past(ctx, scenario)
    log_in_client(client, "ada")

    page = client.get("/dashboard/addresses")
    assert page.status_code == 200
    shown = rows(page.text)
    assert set(shown) == {ANGRY, GONE}
    assert shown[ANGRY].startswith(f"{ANGRY} | denylist |  | 2026-01-05 09:00 UTC")
    assert shown[GONE].startswith(f"{GONE} | valid | unsubscribed |  |")
    searched = rows(client.get("/dashboard/addresses", params={"search": "fine@"}).text)
    assert list(searched) == [FINE] and "| valid |  |  |" in searched[FINE]
    complained = rows(client.get("/dashboard/addresses", params={"show": "complained"}).text)
    assert list(complained) == [ANGRY]

    history = client.get("/dashboard/profiles", params={"email": ANGRY}).text
    meta = text_of(history.split('class="meta">', 1)[1].split("</p>", 1)[0])
    assert "complained on 2026-01-05 09:00 UTC" in meta and "address: denylist" in meta
    assert " subscribed" not in meta


def test_an_admin_adds_to_the_lists_and_removes_with_the_forms(
    ctx: Context, client: TestClient, ada: User
) -> None:
    csrf = log_in_client(client, "ada")

    denied = client.post(
        "/dashboard/addresses/denylist",
        data={
            "csrf": csrf,
            "addresses": "trap@spam.example\nX@Example.com, y@example.com",
            "reason": "traps",
        },
    )
    assert denied.status_code == 200  # after the redirect
    assert "3 address(es) put on the denylist." in denied.text
    assert set(rows(denied.text)) == {"trap@spam.example", "x@example.com", "y@example.com"}
    allowed = client.post(
        "/dashboard/addresses/allowlist", data={"csrf": csrf, "addresses": "y@example.com"}
    )
    assert "1 address(es) put on the allowlist." in allowed.text
    assert [status_of(ctx, a) for a in ("x@example.com", "y@example.com")] == [
        "denylist",
        "allowlist",
    ]
    assert 'aria-label="Take y@example.com off the allowlist"' in allowed.text

    removed = client.post(
        "/dashboard/addresses/remove",
        data={"csrf": csrf, "address": "y@example.com", "list": "allowlist"},
    )
    assert "1 address(es) taken off their list." in removed.text
    assert status_of(ctx, "y@example.com") == "valid"
    bad = client.post(
        "/dashboard/addresses/denylist", data={"csrf": csrf, "addresses": "not-an-address"}
    )
    assert bad.status_code == 422
    assert "Not email addresses: 'not-an-address'." in html.unescape(bad.text)


def test_without_the_csrf_token_or_the_admin_role_nothing_changes(
    ctx: Context, client: TestClient, ada: User, marie: User
) -> None:
    log_in_client(client, "ada")
    forged = client.post(
        "/dashboard/addresses/denylist", data={"addresses": "x@example.com", "csrf": "forged"}
    )
    assert forged.status_code == 403
    assert status_of(ctx, "x@example.com") is None

    client.cookies.clear()
    with_password(ctx, "marie")
    csrf = log_in_client(client, "marie")
    page = client.get("/dashboard/addresses")
    assert page.status_code == 403
    assert "the role 'admin' is missing" in html.unescape(page.text)
    assert 'action="/dashboard/addresses/denylist"' not in page.text
    for path in ("denylist", "allowlist"):
        refused = client.post(
            f"/dashboard/addresses/{path}", data={"csrf": csrf, "addresses": "x@example.com"}
        )
        assert refused.status_code == 403
    assert status_of(ctx, "x@example.com") is None
