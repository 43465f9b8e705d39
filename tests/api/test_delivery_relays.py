"""A delivery may name the relays it uses: over the API, kept by copies, checked by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import CONTENT, World, assert_problem, running_app

from conftest import Scenario
from mailcast.config import RelaySettings
from mailcast.context import Context
from mailcast.deliveries.errors import DeliveryError
from mailcast.deliveries.relays import check_relay_names, relays_for

NEW = {"name": "spring", "target": {"lists": ["news"]}, **CONTENT}


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
