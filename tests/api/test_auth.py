"""Authentication: a Bearer API token or a dashboard session (with its CSRF token), else 401."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import World, assert_problem, running_app, snapshot

from conftest import Scenario
from mailcast.context import Context
from mailcast.domain import DeliveryState
from mailcast.users.service import revoke_token, set_disabled
from mailcast.users.sessions import SESSION_COOKIE, open_session


@pytest.fixture
def world(ctx: Context, scenario: Scenario) -> Iterator[World]:
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


def _concrete(path: str) -> str:
    """A path of the document with every {parameter} set to 1."""
    parts = ["1" if p.startswith("{") else p for p in path.split("/")]
    return "/".join(parts)


def test_every_api_route_refuses_a_request_without_credential(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    operations = [
        (method.upper(), _concrete(path))
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method in item
    ]
    assert len(operations) > 40
    for method, path in operations:
        response = world.client.request(method, path)
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer"), (method, path)
        assert body["title"] == "Unauthorized"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer mc_not-a-token", "Bearer ", "Basic bWFyaWU6cGFzc3dvcmQ=", "mc_no-scheme"],
)
def test_a_bad_credential_is_refused(world: World, authorization: str) -> None:
    response = world.client.get("/api/me", headers={"Authorization": authorization})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_and_a_disabled_user_are_refused(world: World, ctx: Context) -> None:
    marie, sam = world["marie"], world["sam"]
    assert marie.get("/api/me").status_code == 200
    revoke_token(ctx.db, marie.token, ctx.clock)
    assert_problem(marie.get("/api/me"), 401)
    set_disabled(ctx.db, "sam")
    body = assert_problem(sam.get("/api/me"), 401)
    assert "disabled" in body["detail"]


def test_me_tells_the_roles_and_the_actions_they_allow(world: World) -> None:
    body = world["sam"].get("/api/me").json()
    assert body["name"] == "sam"
    assert body["roles"] == ["start_deliveries"]
    # start_deliveries includes everything prepare_deliveries may do (SPEC §2).
    assert {"confirm_send", "create_delivery", "send_proof"} <= set(body["actions"])
    assert "approve_delivery" not in body["actions"]


# --- Sessions (the dashboard's cookie) ------------------------------------------------------


def _session(world: World, name: str) -> tuple[str, str]:
    return open_session(world.ctx, world[name].user, "127.0.0.1", "pytest")


def test_a_session_reads_without_a_csrf_token(world: World) -> None:
    cookie, _csrf = _session(world, "sam")
    world.client.cookies.set(SESSION_COOKIE, cookie)
    response = world.client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["name"] == "sam"


def test_a_session_changes_nothing_without_its_csrf_token(world: World) -> None:
    delivery_id = world.prepared()
    cookie, csrf = _session(world, "sam")
    world.client.cookies.set(SESSION_COOKIE, cookie)
    path = f"/api/deliveries/{delivery_id}/confirm"
    before = snapshot(world.ctx.db)
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        body = assert_problem(world.client.post(path, headers=headers), 403)
        assert "CSRF" in body["title"]
    assert snapshot(world.ctx.db) == before
    response = world.client.post(path, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == DeliveryState.SENDING


def test_a_session_still_needs_the_role(world: World) -> None:
    delivery_id = world.prepared()
    cookie, csrf = _session(world, "marie")
    world.client.cookies.set(SESSION_COOKIE, cookie)
    response = world.client.post(
        f"/api/deliveries/{delivery_id}/confirm", headers={"X-CSRF-Token": csrf}
    )
    body = assert_problem(response, 403)
    assert body["missing_role"] == "start_deliveries"
    assert world.state(delivery_id) == DeliveryState.READY


def test_an_unknown_or_ended_session_is_refused(world: World) -> None:
    world.client.cookies.set(SESSION_COOKIE, "not-a-session")
    assert_problem(world.client.get("/api/me"), 401)
    cookie, _ = _session(world, "sam")
    world.client.cookies.set(SESSION_COOKIE, cookie)
    set_disabled(world.ctx.db, "sam")
    assert_problem(world.client.get("/api/me"), 401)


def test_a_token_wins_over_a_session(world: World) -> None:
    cookie, _ = _session(world, "sam")
    world.client.cookies.set(SESSION_COOKIE, cookie)
    # A token request is not a browser's: no CSRF token is asked for.
    response = world["marie"].get("/api/me")
    assert response.json()["name"] == "marie"


def test_http_errors_under_api_are_problems_too(world: World) -> None:
    marie = world["marie"]
    assert assert_problem(marie.get("/api/no-such-thing"), 404)["title"] == "Not Found"
    assert assert_problem(marie.delete("/api/me"), 405)["title"] == "Method Not Allowed"
    broken = marie.post(
        "/api/deliveries", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert assert_problem(broken, 422)["title"] == "The request is not valid"
    # Outside /api the framework's own answers stay as they were.
    outside = world.client.get("/no-such-page")
    assert outside.status_code == 404
    assert outside.headers["content-type"] != "application/problem+json"


def test_a_password_set_by_an_admin_ends_the_users_sessions(world: World) -> None:
    cookie, _ = _session(world, "sam")
    response = world["ada"].put(
        f"/api/users/{world['sam'].user.id}/password", json={"password": "a new secret"}
    )
    assert response.status_code == 204
    world.client.cookies.set(SESSION_COOKIE, cookie)
    assert_problem(world.client.get("/api/me"), 401)
    # The user's tokens keep working: they are not a login.
    world.client.cookies.clear()
    assert world["sam"].get("/api/me").status_code == 200
