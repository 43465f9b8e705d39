"""Address management over the API (admin): the two lists, search, opt-outs and complaints."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import World, assert_problem, running_app

from address_people import ANGRY, FINE, GONE, people_with_a_past
from conftest import Scenario
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store import addresses as address_store


@pytest.fixture
def world(ctx: Context, scenario: Scenario) -> Iterator[World]:
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


def status_of(ctx: Context, address: str) -> str | None:
    with ctx.db.read() as conn:
        row = address_store.get_address_state(conn, address)
    return None if row is None else str(row["status"])


def test_an_admin_keeps_the_denylist_and_the_allowlist(ctx: Context, world: World) -> None:
    ada = world["ada"]

    denied = ada.post(
        "/api/addresses/denylist",
        json={"addresses": ["Trap@Spam.example", "x@example.com"], "reason": "spam trap"},
    )
    assert denied.status_code == 200, denied.text
    assert denied.json() == {"changed": ["trap@spam.example", "x@example.com"], "unchanged": []}
    again = ada.post("/api/addresses/denylist", json={"addresses": ["trap@spam.example"]})
    assert again.json() == {"changed": [], "unchanged": ["trap@spam.example"]}
    listed = ada.get("/api/addresses", params={"status": "denylist"}).json()["items"]
    assert [(i["address"], i["detail"]) for i in listed] == [
        ("trap@spam.example", "put on the denylist by ada: spam trap"),
        ("x@example.com", "put on the denylist by ada: spam trap"),
    ]

    allowed = ada.post("/api/addresses/allowlist", json={"addresses": ["x@example.com"]})
    assert allowed.json()["changed"] == ["x@example.com"]
    assert status_of(ctx, "x@example.com") == "allowlist"

    removed = ada.delete("/api/addresses/allowlist/X@example.com")
    assert removed.status_code == 200, removed.text
    assert status_of(ctx, "x@example.com") == "valid"
    assert ada.delete("/api/addresses/denylist/trap@spam.example").json()["changed"] == [
        "trap@spam.example"
    ]
    assert status_of(ctx, "trap@spam.example") == "valid"


def test_wrong_list_requests_are_problems_and_change_nothing(ctx: Context, world: World) -> None:
    ada = world["ada"]
    not_listed = ada.delete("/api/addresses/denylist/nobody@example.com")
    assert "is not on the denylist" in assert_problem(not_listed, 404)["detail"]
    bad = ada.post("/api/addresses/denylist", json={"addresses": ["x@example.com", "nope"]})
    assert "not email addresses: 'nope'" in assert_problem(bad, 422)["detail"]
    empty = ada.post("/api/addresses/allowlist", json={"addresses": []})
    assert_problem(empty, 422)
    too_long = ada.post(
        "/api/addresses/allowlist", json={"addresses": ["x@example.com"], "reason": "r" * 501}
    )
    assert_problem(too_long, 422)
    assert status_of(ctx, "x@example.com") is None


def test_search_and_history_show_unsubscribes_and_complaints(
    ctx: Context, world: World, scenario: Scenario, mta: SandboxMTA
) -> None:
    people_with_a_past(ctx, scenario)
    ada = world["ada"]

    found = ada.get("/api/addresses", params={"search": "EXAMPLE"}).json()["items"]
    by_address = {item["address"]: item for item in found}
    assert set(by_address) == {ANGRY, GONE, FINE}
    assert by_address[ANGRY]["status"] == "denylist"
    assert by_address[ANGRY]["complained_at"] == "2026-01-05T09:00:00Z"
    assert (by_address[GONE]["status"], by_address[GONE]["unsubscribed"]) == ("valid", True)
    assert (by_address[FINE]["unsubscribed"], by_address[FINE]["complained_at"]) == (False, None)
    domain = ada.get("/api/addresses", params={"search": "@Example.ORG"}).json()["items"]
    assert [item["address"] for item in domain] == [GONE]
    typing = ada.get("/api/addresses", params={"search": "@exam"}).json()["items"]
    assert {item["address"] for item in typing} == {ANGRY, GONE, FINE}
    complained = ada.get("/api/addresses", params={"complained": True}).json()["items"]
    assert [item["address"] for item in complained] == [ANGRY]

    history = world["marie"].get("/api/profiles/history", params={"email": ANGRY}).json()
    assert (history["subscribed"], history["standing"]) == (False, "complained")
    assert (history["address_status"], history["complained_at"]) == (
        "denylist",
        "2026-01-05T09:00:00Z",
    )
    assert history["entries"][0]["complained_at"] == "2026-01-05T09:00:00Z"
