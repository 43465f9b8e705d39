"""A delivery may name the relays it uses: over the API, kept by copies and recurring
templates, checked by name, and followed by preparation (SMTPUTF8) and proofs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import CONTENT, World, assert_problem, running_app

from conftest import Scenario
from mailcast.config import RelaySettings
from mailcast.context import Context
from mailcast.deliveries.errors import DeliveryError
from mailcast.deliveries.proofs import send_proofs
from mailcast.deliveries.relays import check_relay_names, relays_for
from mailcast.domain import ExclusionReason
from mailcast.prepare.preparation import prepare_delivery
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.sandbox.mta import SandboxMTA
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.users.service import User

NEW = {"name": "spring", "target": {"lists": ["news"]}, **CONTENT}
DAILY = {**NEW, "recurrence": "0 9 * * *", "timezone": "Europe/Paris"}
JOSE = "josé@exemple.fr"


@pytest.fixture
def world(ctx: Context, scenario: Scenario) -> Iterator[World]:
    ctx.settings.relays = {"eu": RelaySettings(port=2601), "backup": RelaySettings(port=2602)}
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


def _create(world: World, **fields: Any) -> Any:
    world.audience()
    return world["marie"].post("/api/deliveries", json={**NEW, **fields})


def test_a_delivery_names_its_relays_and_an_edit_changes_them(world: World) -> None:
    created = _create(world, relays=["backup", "backup"])
    assert created.status_code == 201, created.text
    path = f"/api/deliveries/{created.json()['id']}"
    assert created.json()["relays"] == ["backup"]  # each once
    marie = world["marie"]
    assert marie.patch(path, json={"relays": ["eu", "backup"]}).json()["relays"] == ["eu", "backup"]
    assert marie.patch(path, json={"relays": None}).json()["relays"] is None  # all again
    assert marie.get(path).json()["relays"] is None


def test_by_default_a_delivery_uses_every_relay(world: World) -> None:
    created = _create(world)
    assert created.status_code == 201 and created.json()["relays"] is None


def test_an_unknown_relay_is_refused_naming_the_known_ones(world: World) -> None:
    body = assert_problem(_create(world, relays=["eu", "us"]), 422)
    assert "unknown relay 'us': the relays are eu, backup" in body["detail"]
    created = _create(world).json()
    edit = world["marie"].patch(f"/api/deliveries/{created['id']}", json={"relays": ["nope"]})
    assert "unknown relay 'nope'" in assert_problem(edit, 422)["detail"]


def test_a_copy_keeps_the_relays(world: World) -> None:
    created = _create(world, relays=["eu"]).json()
    copy = world["marie"].post(f"/api/deliveries/{created['id']}/duplicate")
    assert copy.status_code == 201, copy.text
    assert copy.json()["relays"] == ["eu"]


def test_relays_for_keeps_the_settings_order_and_skips_names_no_longer_there(
    ctx: Context,
) -> None:
    ctx.settings.relays = {"eu": RelaySettings(), "us": RelaySettings()}
    assert list(relays_for(ctx.settings, None)) == ["eu", "us"]
    assert list(relays_for(ctx.settings, ["us", "eu"])) == ["eu", "us"]
    assert relays_for(ctx.settings, ["gone"]) == {}
    ctx.settings.relays = {}
    assert list(relays_for(ctx.settings, None)) == ["default"]  # the one `relay`
    assert check_relay_names(ctx.settings, []) is None
    with pytest.raises(DeliveryError, match="the relays are default"):
        check_relay_names(ctx.settings, ["eu"])


def test_editing_the_relays_follows_the_rule_of_every_edit(world: World) -> None:
    prepared = world.prepared(relays=["eu"])
    edited = world["marie"].patch(f"/api/deliveries/{prepared}", json={"relays": ["backup"]})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["relays"], body["state"], body["prepared_version"]) == (["backup"], "draft", None)
    sending = world.sending()
    refused = world["marie"].patch(f"/api/deliveries/{sending}", json={"relays": ["eu"]})
    assert "cannot be edited" in assert_problem(refused, 409)["detail"]
    assert world["marie"].get(f"/api/deliveries/{sending}").json()["relays"] is None


def test_the_openapi_document_describes_the_field(world: World) -> None:
    schemas = world.client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("DeliveryIn", "DeliveryEdit", "DeliveryOut", "RecurringIn", "TemplateOut"):
        assert "null: every relay" in schemas[model]["properties"]["relays"]["description"]


# --- recurring deliveries ------------------------------------------------------------------


def _first_occurrence(world: World, recurring_id: int) -> dict[str, Any]:
    world.clock.advance(dt.timedelta(days=1))
    run_due_occurrences(world.ctx)
    [occurrence] = world["marie"].get(f"/api/recurring/{recurring_id}/occurrences").json()
    return dict(occurrence)


def test_a_recurring_delivery_passes_its_relays_to_each_occurrence(world: World) -> None:
    world.audience()
    created = world["marie"].post("/api/recurring", json={**DAILY, "relays": ["backup", "eu"]})
    assert created.status_code == 201, created.text
    recurring = created.json()
    assert recurring["template"]["relays"] == ["backup", "eu"]
    occurrence = _first_occurrence(world, recurring["id"])
    child = world["marie"].get(f"/api/deliveries/{occurrence['delivery_id']}").json()
    assert child["relays"] == ["backup", "eu"]


def test_a_recurring_delivery_refuses_an_unknown_relay(world: World) -> None:
    world.audience()
    refused = world["marie"].post("/api/recurring", json={**DAILY, "relays": ["us"]})
    assert "unknown relay 'us': the relays are eu, backup" in assert_problem(refused, 422)["detail"]
    assert world["marie"].get("/api/recurring").json() == []


def test_an_occurrence_naming_a_relay_taken_out_of_the_settings_fails_saying_so(
    world: World,
) -> None:
    world.audience()
    recurring = world["marie"].post("/api/recurring", json={**DAILY, "relays": ["eu"]}).json()
    world.ctx.settings.relays = {"backup": RelaySettings(port=2602)}
    occurrence = _first_occurrence(world, recurring["id"])
    assert occurrence["outcome"] == "failed" and occurrence["delivery_id"] is None
    assert "unknown relay 'eu': the relays are backup" in occurrence["detail"]


# --- preparation and proofs follow the delivery's relays -------------------------------------


def _set_relays(ctx: Context, delivery_id: int, relays: list[str]) -> None:
    """Names that passed the checks once; the settings may have dropped them since."""
    with ctx.db.write() as conn:
        delivery_store.update_delivery(conn, delivery_id, ctx.clock.now(), relays=relays)


def test_non_ascii_local_parts_are_queued_only_when_every_relay_it_may_use_takes_smtputf8(
    ctx: Context, scenario: Scenario
) -> None:
    ctx.settings.relays = {"utf8": RelaySettings(smtputf8=True), "ascii": RelaySettings()}
    scenario.audience([JOSE, "plain@example.com"])
    every_relay = scenario.prepared()
    utf8_only = scenario.prepared(relays=["utf8"])
    none_left = scenario.delivery(relays=["utf8"])
    _set_relays(ctx, none_left, ["gone"])
    assert not prepare_delivery(ctx, scenario.author, none_left).blocked

    assert deployment(ctx, utf8_only).exclusions == {}
    left_out = {ExclusionReason.SMTPUTF8_REQUIRED: 1}
    assert deployment(ctx, every_relay).exclusions == left_out
    assert deployment(ctx, none_left).exclusions == left_out
    with ctx.db.read() as conn:
        [excluded] = delivery_store.exclusion_log(conn, every_relay)
    assert excluded["address"] == JOSE and "each one the delivery may use" in excluded["detail"]


def test_proofs_go_through_the_first_relay_the_delivery_may_use(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA
) -> None:
    # Nothing listens on port 1: a proof sent there would fail.
    ctx.settings.relays = {"closed": RelaySettings(port=1), "open": RelaySettings(port=mta.port)}
    scenario.audience(["a@example.com"])
    delivery_id = scenario.delivery(relays=["open"])
    [result] = send_proofs(ctx, marie, delivery_id, ["proof@example.com"])
    assert result.accepted, result.smtp_response
    assert [m.recipients for m in mta.received()] == [("proof@example.com",)]
    _set_relays(ctx, delivery_id, ["gone"])
    with pytest.raises(DeliveryError, match="none of the relays the delivery names"):
        send_proofs(ctx, marie, delivery_id, ["proof@example.com"])
