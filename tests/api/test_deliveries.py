"""Deliveries over the API: create, edit, prepare, confirm, pause, resume, stop, and refusals."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from api_helpers import CONTENT, World, assert_problem, running_app

from conftest import Scenario
from mailcast.context import Context
from mailcast.domain import DeliveryState
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle

NEW = {"name": "spring", "target": {"lists": ["news"]}, **CONTENT}


@pytest.fixture
def world(ctx: Context, scenario: Scenario) -> Iterator[World]:
    with running_app(ctx) as client:
        yield World(ctx, client, scenario)


def _create(world: World, **fields: Any) -> dict[str, Any]:
    world.audience()
    response = world["marie"].post("/api/deliveries", json={**NEW, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_delivery_goes_from_draft_to_sent_through_the_api(world: World, mta: SandboxMTA) -> None:
    marie, sam = world["marie"], world["sam"]
    created = _create(world)
    assert (created["state"], created["display_state"], created["stibee_label"]) == (
        "draft",
        "draft",
        "작성중",
    )
    assert created["deployment"]["to_deliver"] == 0
    path = f"/api/deliveries/{created['id']}"

    prepared = marie.post(f"{path}/prepare").json()
    assert prepared["state"] == "ready" and prepared["to_deliver"] == 3
    assert prepared["blocked"] is False

    assert sam.post(f"{path}/confirm").json() == {"id": created["id"], "state": "sending"}
    send_until_idle(world.ctx)
    shown = marie.get(path).json()
    assert shown["state"] == "sent" and shown["stibee_label"] == "발송완료"
    block = shown["deployment"]
    assert (block["to_deliver"], block["processed"], block["sent"]) == (3, 3, 3)
    assert (block["delivered_pct"], block["progress"]) == (100.0, 1.0)
    assert sorted(mta.recipients_counter()) == ["a@example.com", "b@example.com", "c@example.com"]


def test_pause_resume_and_stop(world: World) -> None:
    delivery_id = world.sending()
    sam, path = world["sam"], f"/api/deliveries/{delivery_id}"
    assert sam.post(f"{path}/pause").json()["state"] == "paused"
    assert sam.post(f"{path}/resume").json()["state"] == "sending"
    stopped = sam.post(f"{path}/stop").json()
    assert stopped == {"id": delivery_id, "state": "stopped", "not_sent": 3}
    log = world["marie"].get(f"{path}/messages").json()["items"]
    assert {line["status"] for line in log} == {"not_sent"}


def test_an_edit_after_preparation_sends_the_delivery_back_to_draft(world: World) -> None:
    delivery_id = world.prepared()
    response = world["marie"].patch(
        f"/api/deliveries/{delivery_id}",
        json={"subject": "New subject", "target": {"lists": ["news"], "filter": None}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "draft" and body["subject"] == "New subject"
    assert body["version"] == 2 and body["prepared_version"] is None
    body = assert_problem(world["sam"].post(f"/api/deliveries/{delivery_id}/confirm"), 409)
    assert "prepare" in body["detail"]


def test_a_blocking_finding_keeps_the_delivery_in_draft(world: World) -> None:
    created = _create(world, html="", text="")
    result = world["marie"].post(f"/api/deliveries/{created['id']}/prepare").json()
    assert result["blocked"] is True and result["state"] == "draft"
    assert any(f["level"] == "error" for f in result["findings"])
    shown = world["marie"].get(f"/api/deliveries/{created['id']}").json()
    assert shown["preparation_log"] == result["findings"]


def test_a_wrong_state_is_a_409_problem_that_says_why(world: World) -> None:
    delivery_id = world.draft()
    body = assert_problem(world["sam"].post(f"/api/deliveries/{delivery_id}/pause"), 409)
    assert "draft" in body["detail"] and "paused" in body["detail"]
    assert world.state(delivery_id) == DeliveryState.DRAFT


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"subject": "Hi\r\nBcc: all@example.com"}, "subject"),
        ({"from_addr": ""}, "from_addr"),
        ({"name": "x" * 201}, "name"),
        ({"target": {"lists": []}}, "lists"),
        ({"target_limit": -1}, "target_limit"),
        ({"send_at": "2026-01-05T09:00:00", "send_timezone": "Europe"}, "send_timezone"),
        ({"send_at": "0001-01-01T00:00:00+14:00"}, "send_at"),
        ({"name": "nul\x00"}, "name"),
    ],
)
def test_an_invalid_delivery_is_a_422_naming_the_field(
    world: World, fields: dict[str, Any], where: str
) -> None:
    world.audience()
    body = assert_problem(world["marie"].post("/api/deliveries", json={**NEW, **fields}), 422)
    assert where in body["detail"]
    assert world["marie"].get("/api/deliveries").json()["items"] == []


def test_an_unknown_list_or_a_bad_filter_is_a_422(world: World) -> None:
    world.audience()
    body = assert_problem(
        world["marie"].post("/api/deliveries", json={**NEW, "target": {"lists": ["nope"]}}), 422
    )
    assert "nope" in body["detail"] and body["title"] == "The target is not valid"
    bad_filter = {"lists": ["news"], "filter": "age >"}
    assert_problem(world["marie"].post("/api/deliveries", json={**NEW, "target": bad_filter}), 422)


def test_unknown_ids_are_404_problems(world: World) -> None:
    for method, path in (
        ("GET", "/api/deliveries/41"),
        ("PATCH", "/api/deliveries/41"),
        ("POST", "/api/deliveries/41/confirm"),
        ("POST", "/api/deliveries/41/duplicate"),
        ("GET", "/api/deliveries/41/preview"),
    ):
        kwargs = {"json": {"subject": "x"}} if method == "PATCH" else {}
        body = assert_problem(world["sam"].request(method, path, **kwargs), 404)
        assert "41" in body["detail"]


def test_a_send_date_in_a_time_zone_schedules_the_delivery(world: World) -> None:
    created = _create(world, send_at="2030-03-01T09:00:00", send_timezone="Europe/Paris")
    assert created["send_at"].startswith("2030-03-01T08:00:00")
    assert created["send_timezone"] == "Europe/Paris"
    path = f"/api/deliveries/{created['id']}"
    world["marie"].post(f"{path}/prepare")
    assert world["sam"].post(f"{path}/confirm").json()["state"] == "scheduled"
    assert world["sam"].post(f"{path}/cancel-schedule").json()["state"] == "draft"
    body = assert_problem(world["sam"].post(f"{path}/cancel-schedule"), 409)
    assert "scheduled" in body["detail"]


def test_duplicate_makes_a_draft_without_schedule(world: World) -> None:
    original = world.prepared(send_at=world.ctx.clock.now() + dt.timedelta(days=2))
    response = world["marie"].post(f"/api/deliveries/{original}/duplicate", json={"name": "again"})
    assert response.status_code == 201, response.text
    copy = response.json()
    assert (copy["name"], copy["state"], copy["send_at"]) == ("again", "draft", None)
    assert copy["copied_from_id"] == original
    bare = world["marie"].post(f"/api/deliveries/{original}/duplicate")
    assert bare.status_code == 201 and bare.json()["name"].endswith("test delivery")


def test_deliveries_are_listed_newest_first_by_state_in_pages(world: World) -> None:
    ids = [world.draft(name=f"d{n}") for n in range(5)]
    world.move(ids[1], DeliveryState.PREPARING)
    marie = world["marie"]
    first = marie.get("/api/deliveries?limit=2").json()
    assert [d["id"] for d in first["items"]] == [ids[4], ids[3]]
    second = marie.get(f"/api/deliveries?limit=2&before={first['next']}").json()
    third = marie.get(f"/api/deliveries?limit=2&before={second['next']}").json()
    assert [d["id"] for d in second["items"] + third["items"]] == [ids[2], ids[1], ids[0]]
    assert third["next"] is None
    preparing = marie.get("/api/deliveries?state=preparing").json()["items"]
    assert [d["id"] for d in preparing] == [ids[1]]


def test_compute_stats_and_the_report(world: World, mta: SandboxMTA) -> None:
    delivery_id = world.sending()
    send_until_idle(world.ctx)
    marie, path = world["marie"], f"/api/deliveries/{delivery_id}"
    stats = marie.post(f"{path}/compute-stats").json()
    assert stats["drift"] == [] and stats["corrected"] is False
    assert stats["rates_refreshed_at"] is not None
    report = marie.get(f"{path}/report").json()
    assert report["counts"]["sent"] == 3 and report["kpis"]["delivered_pct"] == 100.0


def test_the_preview_renders_for_a_profile_or_a_sample(world: World) -> None:
    delivery_id = world.draft(subject="Hello {{ first_name }}")
    marie, path = world["marie"], f"/api/deliveries/{delivery_id}/preview"
    for_b = marie.get(path, params={"email": "b@example.com"}).json()
    assert for_b["address"] == "b@example.com" and for_b["subject"] == "Hello P1"
    assert "Hi P1" in for_b["html"] and "Hi P1" in for_b["text"]
    sample = marie.get(path).json()
    assert sample["address"] == "a@example.com" and sample["subject"] == "Hello P0"
    assert_problem(marie.get(path, params={"email": "who@example.com"}), 404)


def test_a_template_that_fails_to_render_is_a_422(world: World) -> None:
    delivery_id = world.draft(subject="Hello {{ attributes.missing }}")
    body = assert_problem(world["marie"].get(f"/api/deliveries/{delivery_id}/preview"), 422)
    assert "subject" in body["detail"]


def test_proofs_go_to_their_addresses_and_never_count(world: World, mta: SandboxMTA) -> None:
    delivery_id = world.prepared()
    marie, path = world["marie"], f"/api/deliveries/{delivery_id}"
    stored = marie.put(f"{path}/proof-addresses", json={"addresses": ["Boss@Example.com"]})
    assert stored.json() == ["Boss@example.com"]
    [result] = marie.post(f"{path}/proofs").json()
    assert (result["address"], result["accepted"], result["smtp_code"]) == (
        "Boss@example.com",
        True,
        250,
    )
    assert mta.wait_for(1)
    [received] = mta.received()
    assert received.data is not None and b"[PROOF] Hello" in received.data
    [proof] = marie.get(f"{path}/proofs").json()
    assert proof["address"] == "Boss@example.com" and proof["version"] == 1
    shown = marie.get(path).json()
    assert shown["state"] == "ready" and shown["deployment"]["processed"] == 0
    too_many = {"addresses": [f"p{n}@example.com" for n in range(101)]}
    assert (
        "at most 100" in assert_problem(marie.post(f"{path}/proofs", json=too_many), 409)["detail"]
    )


def test_the_preview_keeps_the_operators_template_limits(world: World) -> None:
    world.ctx.settings.templates.max_value_length = 1000
    delivery_id = world.draft(subject="Hello {{ 'x' * 5000 }}")
    body = assert_problem(world["marie"].get(f"/api/deliveries/{delivery_id}/preview"), 422)
    assert "templates.max_value_length" in body["detail"]


def test_inline_css_is_an_option_of_the_delivery_seen_in_preview_and_proofs(
    world: World, mta: SandboxMTA
) -> None:
    marie = world["marie"]
    assert _create(world)["inline_css"] is False
    styled = "<style>p { color: #c00 }</style><p>Hi {{ first_name }}</p>"
    created = _create(world, html=styled + CONTENT["html"], inline_css=True)
    path = f"/api/deliveries/{created['id']}"
    assert created["inline_css"] is True and marie.get(path).json()["inline_css"] is True

    html = marie.get(f"{path}/preview").json()["html"]
    assert '<p style="color: #c00;">Hi P0</p>' in html and "<style>" not in html

    assert marie.patch(path, json={"inline_css": False}).json()["inline_css"] is False
    html = marie.get(f"{path}/preview").json()["html"]
    assert html.startswith(styled.replace("{{ first_name }}", "P0")) and "style=" not in html
    assert_problem(marie.patch(path, json={"inline_css": None}), 422)

    assert marie.patch(path, json={"inline_css": True}).json()["inline_css"] is True
    assert marie.post(f"{path}/prepare").json()["blocked"] is False
    [result] = marie.post(f"{path}/proofs", json={"addresses": ["boss@example.com"]}).json()
    assert result["accepted"] is True and mta.wait_for(1)
    [received] = mta.received()
    proof = email.message_from_bytes(received.data or b"", policy=email.policy.default)
    assert isinstance(proof, EmailMessage)
    body = proof.get_body(("html",))
    assert body is not None and '<p style="color: #c00;">Hi' in str(body.get_content())


def test_tracking_options_and_approval_are_the_deliverys_own_and_copied(world: World) -> None:
    marie = world["marie"]
    default = _create(world)
    assert (default["track_opens"], default["track_clicks"], default["approval_required"]) == (
        True,
        True,
        None,
    )
    created = _create(world, track_opens=False, track_clicks=False, approval_required=True)
    path = f"/api/deliveries/{created['id']}"
    assert (created["track_opens"], created["track_clicks"], created["approval_required"]) == (
        False,
        False,
        True,
    )

    edited = marie.patch(path, json={"track_clicks": True, "approval_required": None}).json()
    assert (edited["track_opens"], edited["track_clicks"], edited["approval_required"]) == (
        False,
        True,
        None,
    )
    copy = marie.post(f"{path}/duplicate", json={"name": "again"}).json()
    assert (copy["track_opens"], copy["track_clicks"]) == (False, True)
    assert_problem(marie.patch(path, json={"track_opens": None}), 422)
