"""The deliveries list over HTTP (real app, no browser): search, state, pages, rates, groups."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from dashboard_helpers import log_in_client, with_password
from fastapi.testclient import TestClient
from list_data import DRAFTS, ERROR, many_deliveries

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.web.app import create_app
from mailcast.web.dashboard.delivery_list import PAGE_SIZE


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as test_client:
        yield test_client


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def table(page: str, table_id: str) -> list[str]:
    """The rows of a table of the page, as text (their cells joined by ' | ')."""
    found = re.search(rf'<table class="list" id="{table_id}">(.*?)</table>', page, re.S)
    if found is None:
        return []
    rows = []
    for body in re.findall(r"<tbody[^>]*>(.*?)</tbody>", found.group(1), re.S):
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
            cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
            rows.append(" | ".join(text_of(c) for c in cells))
    return rows


def names(rows: list[str]) -> list[str]:
    return [row.split(" | ")[1] for row in rows if " | " in row]


def test_the_list_pages_searches_filters_and_groups_occurrences(
    ctx: Context, clock: ManualClock, scenario: Scenario, client: TestClient
) -> None:
    ids = many_deliveries(ctx, clock, scenario)
    log_in_client(client, with_password(ctx, "marie"))

    first = client.get("/dashboard/").text
    one_off = table(first, "deliveries")
    assert len(one_off) == PAGE_SIZE
    assert names(one_off)[:3] == ["Broken", "Spring sale", f"Draft {DRAFTS}"]
    spring = next(row for row in one_off if "Spring sale" in row)
    assert "| 8 | 8 | 50 % | 12.5 % |" in spring  # to deliver, sent, open rate, click rate
    assert "| 0 | 0 | — | — |" in next(row for row in one_off if "Draft 1" in row)
    broken = next(row for row in one_off if "| Broken |" in row)
    assert "error" in broken and ERROR in broken

    groups = table(first, "recurring-groups")
    assert groups[0].startswith("Morning news recurring · 3 occurrence(s)")
    occurrences = groups[1:]
    # The newest waits for confirmation; the older ones were skipped when it came.
    assert [o.split(" | ")[2] for o in occurrences] == ["pending confirmation", *["skipped"] * 2]
    assert all(name.startswith("Morning news") for name in names(occurrences))
    assert not any("Morning news" in row for row in one_off)  # grouped, not in the list

    older = re.search(r'href="/dashboard/\?search=&amp;state=&amp;before=(\d+)"', first)
    assert older is not None
    second = client.get("/dashboard/", params={"before": older.group(1)}).text
    rest = names(table(second, "deliveries"))
    assert rest == [f"Draft {n}" for n in range(DRAFTS + 2 - PAGE_SIZE, 0, -1)]
    assert "Older ›" not in second
    assert "‹ Newest" in second and 'id="recurring-groups"' not in second

    searched = client.get("/dashboard/", params={"search": "flowers"}).text
    assert names(table(searched, "deliveries")) == ["Spring sale"]
    assert 'id="recurring-groups"' not in searched
    by_number = client.get("/dashboard/", params={"search": f"#{ids['Broken']}"}).text
    assert names(table(by_number, "deliveries")) == ["Broken"]
    literal = client.get("/dashboard/", params={"search": "20 %"}).text  # % is no wildcard
    assert names(table(literal, "deliveries")) == ["Spring sale"]
    recurring = client.get("/dashboard/", params={"search": "morning"}).text
    assert table(recurring, "deliveries") == [] and len(table(recurring, "recurring-groups")) == 4

    errors = client.get("/dashboard/", params={"state": "error"}).text
    assert names(table(errors, "deliveries")) == ["Broken"]
    assert '<option value="error" selected>error (1)</option>' in errors
    assert f'<option value="draft" >draft ({DRAFTS})</option>' in errors
    waiting = client.get("/dashboard/", params={"state": "pending_confirmation"}).text
    assert table(waiting, "deliveries") == [] and len(table(waiting, "recurring-groups")) == 2
    nothing = client.get("/dashboard/", params={"search": "zzz", "state": "sent"}).text
    assert "No delivery matches." in nothing


def test_the_list_refuses_bad_parameters_and_needs_a_login(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    assert client.get("/dashboard/", follow_redirects=False).status_code == 303
    log_in_client(client, with_password(ctx, "marie"))
    assert client.get("/dashboard/", params={"before": "0"}).status_code == 422
    assert client.get("/dashboard/", params={"search": "x" * 201}).status_code == 422
    unknown = client.get("/dashboard/", params={"state": "nonsense"})
    assert unknown.status_code == 200 and "No delivery yet." in unknown.text
