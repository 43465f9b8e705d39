"""Every API route that changes something, tried by a user without its role and by one with it.

The refused user gets 403 problem+json naming the missing role, and no table changes; the
user holding the role succeeds and something changes. The table must list every
state-changing operation of the OpenAPI document: a new route without a row fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from api_helpers import CONTENT, World, assert_problem, running_app, snapshot

from conftest import Scenario
from mailcast.context import Context
from mailcast.domain import ALSO_ALLOWED, Action, AddressStatus, Role, effective_roles
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store.addresses import set_address_status
from mailcast.store.profiles import profiles_page
from mailcast.users.service import list_tokens, set_disabled

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# The World's users and their roles; one holder per role.
ROLES = {
    "marie": {Role.PREPARE},
    "sam": {Role.START},
    "ann": {Role.APPROVE},
    "ada": {Role.ADMIN},
    "nobody": set(),
}
HOLDER = {Role.PREPARE: "marie", Role.APPROVE: "ann", Role.START: "sam", Role.ADMIN: "ada"}


def lackers(case: Case) -> list[str]:
    granting = {case.role} | case.also_allowed
    return [name for name, roles in ROLES.items() if not granting & effective_roles(roles)]


Params = dict[str, Any]


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # as the OpenAPI document writes it
    role: Role
    setup: Callable[[World], Params] = lambda world: {}
    request: Callable[[World, Params], dict[str, Any]] = lambda world, params: {}
    also_allowed: frozenset[Role] = frozenset()  # roles that may do it besides `role`

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _delivery(make: Callable[[World], int]) -> Callable[[World], Params]:
    return lambda world: {"delivery_id": make(world)}


def _user(name: str) -> Callable[[World], Params]:
    return lambda world: {"user_id": world[name].user.id}


def _token(world: World) -> Params:
    nobody = world["nobody"]
    [token] = list_tokens(world.ctx.db, "nobody")
    return {"user_id": nobody.user.id, "token_id": token.id}


def _json(body: dict[str, Any]) -> Callable[[World, Params], dict[str, Any]]:
    return lambda world, params: {"json": body}


def _disabled(world: World) -> Params:
    """A user of its own: a disabled caller could not even be refused (401, not 403)."""
    world.add("away")
    set_disabled(world.ctx.db, "away")
    return _user("away")(world)


NEW_DELIVERY = {"name": "spring", "target": {"lists": ["news"]}, **CONTENT}
NEW_RECURRING = {**NEW_DELIVERY, "recurrence": "0 9 * * MON", "timezone": "Europe/Paris"}
CSV = b"email,first_name\nzoe@example.com,Zoe\n"


def _audience(world: World) -> Params:
    world.audience()
    return {}


def _profile(world: World) -> Params:
    world.audience()
    with world.ctx.db.read() as conn:
        [first, *_] = profiles_page(conn)
    return {"profile_id": first["id"]}


def _quarantined(world: World) -> Params:
    world.quarantine("gone@example.com")
    return {}


def _listed(status: AddressStatus) -> Callable[[World], Params]:
    def setup(world: World) -> Params:
        with world.ctx.db.write() as conn:
            set_address_status(conn, "kept@example.com", status, world.ctx.clock.now())
        return {"address": "kept@example.com"}

    return setup


CASES = [
    Case("POST", "/api/deliveries", Role.PREPARE, _audience, _json(NEW_DELIVERY)),
    Case(
        "PATCH",
        "/api/deliveries/{delivery_id}",
        Role.PREPARE,
        _delivery(World.draft),
        _json({"subject": "Changed"}),
    ),
    Case("DELETE", "/api/deliveries/{delivery_id}", Role.PREPARE, _delivery(World.draft)),
    Case("POST", "/api/deliveries/{delivery_id}/prepare", Role.PREPARE, _delivery(World.draft)),
    Case(
        "POST",
        "/api/deliveries/{delivery_id}/prepare/stop",
        Role.PREPARE,
        _delivery(World.preparing),
    ),
    Case(
        "POST",
        "/api/deliveries/{delivery_id}/approve",
        Role.APPROVE,
        _delivery(World.pending_approval),
    ),
    Case(
        "POST",
        "/api/deliveries/{delivery_id}/reject",
        Role.APPROVE,
        _delivery(World.pending_approval),
    ),
    Case("POST", "/api/deliveries/{delivery_id}/confirm", Role.START, _delivery(World.prepared)),
    Case(
        "POST",
        "/api/deliveries/{delivery_id}/cancel-schedule",
        Role.START,
        _delivery(World.scheduled),
    ),
    Case(
        "POST",
        "/api/deliveries/{delivery_id}/confirm-occurrence",
        Role.START,
        _delivery(World.pending_confirmation),
    ),
    Case(
        "POST",
        "/api/deliveries/{delivery_id}/duplicate",
        Role.PREPARE,
        _delivery(World.sending),
        _json({"leave_out_delivered": True}),
    ),
    Case("POST", "/api/deliveries/{delivery_id}/pause", Role.START, _delivery(World.sending)),
    Case(
        "POST",
        "/api/deliveries/{delivery_id}/proofs",
        Role.PREPARE,
        _delivery(World.draft),
        _json({"addresses": ["proof@example.com"]}),
    ),
    Case(
        "PUT",
        "/api/deliveries/{delivery_id}/proof-addresses",
        Role.PREPARE,
        _delivery(World.draft),
        _json({"addresses": ["proof@example.com"]}),
    ),
    Case("POST", "/api/deliveries/{delivery_id}/resume", Role.START, _delivery(World.paused)),
    Case("POST", "/api/deliveries/{delivery_id}/stop", Role.START, _delivery(World.sending)),
    Case(
        "POST",
        "/api/deliveries/{delivery_id}/compute-stats",
        Role.PREPARE,
        _delivery(World.sending),
        also_allowed=ALSO_ALLOWED[Action.READ_LOGS],
    ),
    Case(
        "POST",
        "/api/profiles",
        Role.PREPARE,
        request=_json({"email": "zoe@example.com", "lists": ["news"]}),
    ),
    Case(
        "POST",
        "/api/profiles/import",
        Role.PREPARE,
        request=lambda world, params: {
            "params": {"list": "news"},
            "files": {"file": ("people.csv", CSV, "text/csv")},
        },
    ),
    Case("POST", "/api/recurring", Role.PREPARE, _audience, _json(NEW_RECURRING)),
    Case(
        "PUT",
        "/api/recurring/{recurring_id}",
        Role.PREPARE,
        lambda world: {"recurring_id": world.recurring()},
        _json(NEW_RECURRING),
    ),
    Case(
        "PUT",
        "/api/profiles/{profile_id}/subscription",
        Role.ADMIN,
        _profile,
        _json({"subscribed": False, "reason": "asked by phone"}),
    ),
    Case(
        "PUT",
        "/api/recurring/{recurring_id}/active",
        Role.PREPARE,
        lambda world: {"recurring_id": world.recurring()},
        _json({"active": False}),
    ),
    Case(
        "POST",
        "/api/addresses/release",
        Role.ADMIN,
        _quarantined,
        _json({"addresses": ["gone@example.com"]}),
    ),
    Case(
        "POST",
        "/api/addresses/denylist",
        Role.ADMIN,
        request=_json({"addresses": ["spam@example.com"], "reason": "trap"}),
    ),
    Case(
        "DELETE",
        "/api/addresses/denylist/{address}",
        Role.ADMIN,
        _listed(AddressStatus.DENYLIST),
    ),
    Case(
        "POST",
        "/api/addresses/allowlist",
        Role.ADMIN,
        request=_json({"addresses": ["vip@example.com"]}),
    ),
    Case(
        "DELETE",
        "/api/addresses/allowlist/{address}",
        Role.ADMIN,
        _listed(AddressStatus.ALLOWLIST),
    ),
    Case("POST", "/api/users", Role.ADMIN, request=_json({"name": "zed", "roles": []})),
    Case(
        "PUT",
        "/api/users/{user_id}/roles",
        Role.ADMIN,
        _user("nobody"),
        _json({"roles": ["approve_deliveries"]}),
    ),
    Case(
        "PUT",
        "/api/users/{user_id}/password",
        Role.ADMIN,
        _user("nobody"),
        _json({"password": "correct horse battery"}),
    ),
    Case("POST", "/api/users/{user_id}/disable", Role.ADMIN, _user("nobody")),
    Case(
        "POST",
        "/api/users/{user_id}/enable",
        Role.ADMIN,
        _disabled,
    ),
    Case("POST", "/api/users/{user_id}/tokens", Role.ADMIN, _user("nobody"), _json({})),
    Case("DELETE", "/api/users/{user_id}/tokens/{token_id}", Role.ADMIN, _token),
]


@pytest.fixture
def world(ctx: Context, scenario: Scenario, mta: SandboxMTA) -> Iterator[World]:
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


def _call(world: World, case: Case, params: Params, name: str) -> httpx2.Response:
    path = case.path.format(**params)
    return world[name].request(case.method, path, **case.request(world, params))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_refused_without_the_role_and_nothing_changes(world: World, case: Case) -> None:
    params = case.setup(world)
    before = snapshot(world.ctx.db)
    for name in lackers(case):
        body = assert_problem(_call(world, case, params, name), 403)
        assert body["missing_role"] == case.role.value, name
        assert case.role.value in body["title"]
        assert snapshot(world.ctx.db) == before, name


@pytest.mark.parametrize("case", CASES, ids=str)
def test_allowed_with_the_role(world: World, case: Case) -> None:
    params = case.setup(world)
    before = snapshot(world.ctx.db)
    response = _call(world, case, params, HOLDER[case.role])
    assert response.status_code < 300, response.text
    assert snapshot(world.ctx.db) != before


def test_the_table_covers_every_state_changing_route(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method in item
        if method.upper() in UNSAFE
    }
    assert {(case.method, case.path) for case in CASES} == operations


def test_a_user_without_any_role_may_still_read_who_they_are(world: World) -> None:
    response = world["nobody"].get("/api/me")
    assert response.status_code == 200
    assert response.json() == {
        "id": world["nobody"].user.id,
        "name": "nobody",
        "roles": [],
        "actions": [],
    }


def test_every_api_operation_is_documented_with_a_summary_and_a_tag(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    undocumented = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if not operation.get("summary") or not operation.get("tags")
    ]
    assert undocumented == []
    assert {"token", "session"} <= set(document["components"]["securitySchemes"])
