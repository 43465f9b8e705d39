"""Profiles and lists over the API: CSV import with line-numbered errors, one profile, history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import World, assert_problem, running_app

from conftest import Scenario
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle


@pytest.fixture
def world(ctx: Context, scenario: Scenario) -> Iterator[World]:
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


def _import(world: World, content: bytes, list_name: str = "spring") -> Any:
    return world["marie"].post(
        "/api/profiles/import",
        params={"list": list_name},
        files={"file": ("people.csv", content, "text/csv")},
    )


def test_a_csv_import_reports_every_refused_row_by_line(world: World) -> None:
    content = (
        b"Email,First Name,City\n"
        b"ann@example.com,Ann,Lyon\n"
        b"not-an-address,Bob,Paris\n"
        b'"cy@example.com","Cy\nwith a line break",Nice\n'
        b"ann@EXAMPLE.com,Annie,Lille\n"
        b"only-one-cell\n"
    )
    response = _import(world, content)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["list_name"] == "spring"
    assert (report["rows_read"], report["imported"], report["error_count"]) == (5, 2, 2)
    assert report["duplicates_in_file"] == 1
    assert [e["line"] for e in report["errors"]] == [3, 7]
    assert "invalid email" in report["errors"][0]["reason"]
    lists = world["marie"].get("/api/lists").json()
    assert {"name": "spring", "size": 2} in lists
    ann = world["marie"].get("/api/profiles/by-email", params={"email": "ANN@example.com"})
    # The later row of the same address wins (domains compare without case).
    assert (ann.json()["first_name"], ann.json()["attributes"]) == ("Annie", {"city": "Lille"})
    assert ann.json()["lists"] == ["spring"]


def test_an_import_without_an_email_column_or_a_file_is_a_422(world: World) -> None:
    body = assert_problem(_import(world, b"name,city\nAnn,Lyon\n"), 422)
    assert "email" in body["detail"] and body["title"] == "The file cannot be imported"
    no_file = world["marie"].post("/api/profiles/import", params={"list": "x"}, data={"a": "b"})
    assert_problem(no_file, 422)


def test_one_profile_is_added_and_read_back(world: World) -> None:
    marie = world["marie"]
    response = marie.post(
        "/api/profiles",
        json={
            "email": "Zoe@Example.COM",
            "first_name": "Zoe",
            "attributes": {"Plan": "gold"},
            "lists": ["vip"],
        },
    )
    assert response.status_code == 201, response.text
    zoe = response.json()
    assert zoe["email"] == "Zoe@example.com" and zoe["lists"] == ["vip"]
    assert zoe["attributes"] == {"plan": "gold"}
    assert marie.get(f"/api/profiles/{zoe['id']}").json() == zoe
    invalid = marie.post("/api/profiles", json={"email": "zoe@", "lists": []})
    assert assert_problem(invalid, 422)["title"] == "Not a valid email address"
    assert_problem(marie.get("/api/profiles/999"), 404)


def test_profiles_are_listed_by_id_in_keyset_pages(world: World) -> None:
    world.audience()
    marie = world["marie"]
    first = marie.get("/api/profiles?limit=2").json()
    rest = marie.get(f"/api/profiles?limit=2&after={first['next']}").json()
    emails = [p["email"] for p in first["items"] + rest["items"]]
    assert emails == ["a@example.com", "b@example.com", "c@example.com"]
    assert rest["next"] is None


def test_the_history_of_a_profile(world: World, mta: SandboxMTA) -> None:
    delivery_id = world.sending()
    send_until_idle(world.ctx)
    history = world["marie"].get("/api/profiles/history", params={"email": "B@example.com"})
    assert history.status_code == 200, history.text
    body = history.json()
    assert body["email"] == "b@example.com" and body["subscribed"] is True
    [entry] = body["entries"]
    assert (entry["delivery_id"], entry["status"]) == (delivery_id, "sent")
    missing = world["marie"].get("/api/profiles/history", params={"email": "x@example.com"})
    assert_problem(missing, 404)
    refused = world["nobody"].get("/api/profiles/history", params={"email": "b@example.com"})
    assert assert_problem(refused, 403)["missing_role"] == "prepare_deliveries"


def test_a_blank_list_name_is_a_422(world: World) -> None:
    response = world["marie"].post("/api/profiles", json={"email": "x@example.com", "lists": [" "]})
    assert "blank" in assert_problem(response, 422)["detail"]
    assert_problem(_import(world, b"email\nx@example.com\n", list_name="  "), 422)


def test_an_admin_unsubscribes_a_profile_saying_why_and_it_reads_unsubscribed(
    world: World,
) -> None:
    world.audience()
    marie, ada = world["marie"], world["ada"]
    [profile, *_] = marie.get("/api/profiles").json()["items"]
    path = f"/api/profiles/{profile['id']}/subscription"
    blank = ada.put(path, json={"subscribed": False, "reason": ""})
    assert blank.status_code == 422
    done = ada.put(path, json={"subscribed": False, "reason": "asked by phone"})
    assert done.status_code == 200, done.text
    assert done.json() | {"at": None} == {
        "subscribed": False,
        "reason": "asked by phone",
        "changed_by": "ada",
        "at": None,
    }
    assert marie.get(f"/api/profiles/{profile['id']}").json()["email_subscribed"] is False
    twice = ada.put(path, json={"subscribed": False, "reason": "again"})
    assert "unsubscribed already" in assert_problem(twice, 422)["detail"]
