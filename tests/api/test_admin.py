"""Admin over the API: users, roles, passwords, tokens; quarantine and denylist releases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import World, assert_problem, running_app

from conftest import Scenario
from mailcast.context import Context
from mailcast.feedback.quarantine import note_complaint
from mailcast.users.service import verify_password


@pytest.fixture
def world(ctx: Context, scenario: Scenario) -> Iterator[World]:
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


def test_an_admin_creates_a_user_who_then_works_with_a_token(world: World) -> None:
    ada = world["ada"]
    created = ada.post("/api/users", json={"name": "lea", "roles": ["start_deliveries"]})
    assert created.status_code == 201, created.text
    lea = created.json()
    assert lea["roles"] == ["start_deliveries"]
    issued = ada.post(f"/api/users/{lea['id']}/tokens", json={"label": "laptop"})
    assert issued.status_code == 201
    token = issued.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert world.client.get("/api/me", headers=headers).json()["name"] == "lea"
    [listed] = ada.get(f"/api/users/{lea['id']}/tokens").json()
    assert listed["label"] == "laptop" and listed["revoked_at"] is None
    assert token not in str(listed)
    revoked = ada.delete(f"/api/users/{lea['id']}/tokens/{listed['id']}")
    assert revoked.status_code == 204
    assert_problem(world.client.get("/api/me", headers=headers), 401)
    again = ada.delete(f"/api/users/{lea['id']}/tokens/{listed['id']}")
    assert_problem(again, 404)


def test_roles_password_disable_and_enable(world: World, ctx: Context) -> None:
    ada, nobody = world["ada"], world["nobody"]
    user_id = nobody.user.id
    roles = ada.put(f"/api/users/{user_id}/roles", json={"roles": ["approve_deliveries"]})
    assert roles.json()["roles"] == ["approve_deliveries"]
    assert nobody.get("/api/me").json()["actions"] == ["approve_delivery", "read_logs"]
    password = ada.put(f"/api/users/{user_id}/password", json={"password": "long enough pw"})
    assert password.status_code == 204
    assert verify_password(ctx.db, "nobody", "long enough pw") is not None
    short = ada.put(f"/api/users/{user_id}/password", json={"password": "short"})
    assert "8 characters" in assert_problem(short, 422)["detail"]
    assert ada.post(f"/api/users/{user_id}/disable").status_code == 204
    assert_problem(nobody.get("/api/me"), 401)
    assert ada.post(f"/api/users/{user_id}/enable").status_code == 204
    assert nobody.get("/api/me").status_code == 200


def test_user_requests_that_cannot_be_done(world: World) -> None:
    ada = world["ada"]
    taken = ada.post("/api/users", json={"name": "marie"})
    assert "already exists" in assert_problem(taken, 422)["detail"]
    spaced = ada.post("/api/users", json={"name": "two words"})
    assert_problem(spaced, 422)
    unknown_role = ada.post("/api/users", json={"name": "x", "roles": ["root"]})
    assert_problem(unknown_role, 422)
    assert_problem(ada.get("/api/users/999"), 404)
    names = [u["name"] for u in ada.get("/api/users").json()]
    assert names == sorted(["ada", "ann", "marie", "nobody", "sam"])


def test_quarantine_lists_counts_and_releases(world: World, ctx: Context) -> None:
    for n in range(3):
        world.quarantine(f"gone{n}@example.com")
    with ctx.db.write() as conn:
        note_complaint(conn, "angry@example.com", ctx.clock.now())
    ada = world["ada"]
    counts = ada.get("/api/addresses/counts").json()
    assert (counts["quarantine"], counts["denylist"], counts["valid"]) == (3, 1, 0)
    page = ada.get("/api/addresses?status=quarantine&limit=2").json()
    rest = ada.get(f"/api/addresses?status=quarantine&limit=2&after={page['next']}").json()
    listed = [a["address"] for a in page["items"] + rest["items"]]
    assert listed == ["gone0@example.com", "gone1@example.com", "gone2@example.com"]
    assert page["items"][0]["failure_reason"] == "user_unknown"

    one = ada.post("/api/addresses/release", json={"addresses": ["GONE0@example.com"]})
    assert one.json() == {"released": ["gone0@example.com"], "not_held": []}
    bulk = ada.post("/api/addresses/release", json={"domain": "example.com"}).json()
    # A bulk release leaves the denylist alone: it records what recipients asked for.
    assert sorted(bulk["released"]) == ["gone1@example.com", "gone2@example.com"]
    assert ada.get("/api/addresses/counts").json()["denylist"] == 1
    both = ada.post("/api/addresses/release", json={"addresses": ["a@x.org"], "all": True})
    assert_problem(both, 422)


def test_quarantine_management_is_for_admins(world: World) -> None:
    for path in ("/api/addresses", "/api/addresses/counts"):
        body = assert_problem(world["sam"].get(path), 403)
        assert body["missing_role"] == "admin"
    body = assert_problem(world["marie"].get("/api/users"), 403)
    assert body["missing_role"] == "admin"
