"""Recurring deliveries over the API: create, read, occurrences, confirm one, switch off."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from api_helpers import CONTENT, World, assert_problem, running_app

from conftest import Scenario
from mailcast.context import Context
from mailcast.recurring.occurrences import run_due_occurrences

DAILY = {
    "name": "daily news",
    "target": {"lists": ["news"]},
    **CONTENT,
    "recurrence": "0 9 * * *",
    "timezone": "Europe/Paris",
}


@pytest.fixture
def world(ctx: Context, scenario: Scenario) -> Iterator[World]:
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


def test_a_recurring_delivery_from_creation_to_a_confirmed_occurrence(world: World) -> None:
    world.audience()
    marie, sam = world["marie"], world["sam"]
    created = marie.post("/api/recurring", json=DAILY)
    assert created.status_code == 201, created.text
    recurring = created.json()
    assert recurring["aggregation"] == "none" and recurring["confirm_before_send"] is True
    assert recurring["template"]["target"] == {"lists": ["news"], "filter": None}
    # 9:00 in Paris in January is 8:00 UTC.
    assert recurring["next_occurrence_at"].endswith("08:00:00Z")
    assert marie.get("/api/recurring").json() == [recurring]

    world.clock.advance(dt.timedelta(days=1))
    run_due_occurrences(world.ctx)
    [occurrence] = marie.get(f"/api/recurring/{recurring['id']}/occurrences").json()
    child = occurrence["delivery_id"]
    assert marie.get(f"/api/deliveries/{child}").json()["state"] == "pending_confirmation"
    refused = marie.post(f"/api/deliveries/{child}/confirm-occurrence")
    assert assert_problem(refused, 403)["missing_role"] == "start_deliveries"
    confirmed = sam.post(f"/api/deliveries/{child}/confirm-occurrence")
    assert confirmed.json() == {"id": child, "state": "sending"}
    again = sam.post(f"/api/deliveries/{child}/confirm-occurrence")
    assert "sending" in assert_problem(again, 422)["detail"]

    off = marie.put(f"/api/recurring/{recurring['id']}/active", json={"active": False})
    assert off.json()["active"] is False


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"recurrence": "every monday"}, "recurrence"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "Europe"}, "timezone"),
    ],
)
def test_an_invalid_recurrence_or_zone_is_a_422(world: World, change: dict, where: str) -> None:
    world.audience()
    body = assert_problem(world["marie"].post("/api/recurring", json={**DAILY, **change}), 422)
    assert where in body["detail"] or "cron" in body["detail"].lower()
    assert world["marie"].get("/api/recurring").json() == []


def test_without_confirmation_the_creator_needs_start_deliveries(world: World) -> None:
    world.audience()
    unconfirmed = {**DAILY, "confirm_before_send": False}
    refused = world["marie"].post("/api/recurring", json=unconfirmed)
    assert assert_problem(refused, 403)["missing_role"] == "start_deliveries"
    assert world["sam"].post("/api/recurring", json=unconfirmed).status_code == 201


def test_a_recurring_delivery_is_edited_as_a_whole_with_the_roles_of_creating_it(
    world: World,
) -> None:
    world.audience()
    created = world["marie"].post("/api/recurring", json=DAILY).json()
    weekly = {**DAILY, "subject": "Weekly", "recurrence": "0 9 * * MON"}
    edited = world["marie"].put(f"/api/recurring/{created['id']}", json=weekly)
    assert edited.status_code == 200, edited.text
    assert edited.json()["template"]["subject"] == "Weekly"
    assert edited.json()["recurrence"] == "0 9 * * MON"
    # 5 January 2026 is a Monday, 10:00 in Paris: next Monday 9:00 in Paris is 8:00 UTC.
    assert edited.json()["next_occurrence_at"] == "2026-01-12T08:00:00Z"
    unconfirmed = {**weekly, "confirm_before_send": False}
    refused = world["marie"].put(f"/api/recurring/{created['id']}", json=unconfirmed)
    assert assert_problem(refused, 403)["missing_role"] == "start_deliveries"
    missing = world["marie"].put("/api/recurring/999", json=weekly)
    assert missing.status_code == 404
