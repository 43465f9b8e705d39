"""Proofs: the real message, `[PROOF] ` before its subject, to at most 100 test addresses,
relayed over SMTP, recorded apart and never counted in the KPIs."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from conftest import Scenario
from mailcast.audience.csv_import import add_profile
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.proofs import list_proofs, send_proofs, set_proof_addresses
from mailcast.deliveries.service import DeliveryError, approve_delivery, confirm_send
from mailcast.domain import DeliveryState, Role
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.compute import check_counters
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store import profiles as profile_store
from mailcast.store import stats as stats_store
from mailcast.users.service import PermissionDenied, User, add_user

HTML = (
    "<p>Hi {{ first_name }} from {{ attributes.city | default('nowhere') }}</p>"
    '<p><a href="https://example.com/news">news</a> <a href="{{ unsubscribe_url }}">unsubscribe</a>'
)
TEXT = "Hi {{ first_name }}\nUnsubscribe: {{ unsubscribe_url }}"


@pytest.fixture(autouse=True)
def news(ctx: Context) -> None:
    """The list the deliveries target, empty unless a test fills it."""
    with ctx.db.write() as conn:
        profile_store.ensure_list(conn, "news", ctx.clock.now())


def _received(mta: SandboxMTA) -> dict[str, EmailMessage]:
    parsed = {}
    for message in mta.received():
        parsed[message.recipients[0]] = email.message_from_bytes(
            message.data or b"", policy=email.policy.default
        )
    return parsed


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _figures(ctx: Context, delivery_id: int) -> dict[str, int]:
    with ctx.db.read() as conn:
        return stats_store.live_counters(conn, delivery_id)


def test_a_proof_is_the_personalised_message_with_the_proof_prefix(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA
) -> None:
    add_profile(
        ctx.db, ctx.clock, "editor@example.com", first_name="Eve", attributes={"city": "Lyon"}
    )
    delivery_id = scenario.delivery(subject="News for {{ first_name }}", html=HTML, text=TEXT)

    results = send_proofs(ctx, marie, delivery_id, ["editor@example.com", "boss@example.com"])

    assert [(r.address, r.accepted, r.smtp_code) for r in results] == [
        ("editor@example.com", True, 250),
        ("boss@example.com", True, 250),
    ]
    received = _received(mta)
    # A profile holds the first address: its data fill the message. The second has none.
    assert received["editor@example.com"]["Subject"] == "[PROOF] News for Eve"
    assert "Hi Eve from Lyon" in _html(received["editor@example.com"])
    assert received["boss@example.com"]["Subject"] == "[PROOF] News for"
    assert "Hi  from nowhere" in _html(received["boss@example.com"])
    # Each proof has a Message-ID of its own, as the result says.
    ids = [received[r.address]["Message-ID"] for r in results]
    assert ids == [r.message_id for r in results] and len(set(ids)) == 2


def test_proofs_are_recorded_apart_and_never_counted(
    ctx: Context,
    scenario: Scenario,
    marie: User,
    sam: User,
    mta: SandboxMTA,
    clock: ManualClock,
) -> None:
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = scenario.prepared(html=HTML, text=TEXT)
    before = _figures(ctx, delivery_id)

    send_proofs(ctx, marie, delivery_id, ["proof@example.com"])

    assert _figures(ctx, delivery_id) == before
    with ctx.db.read() as conn:
        log = message_store.sending_log(conn, delivery_id)
    assert sorted(row["address"] for row in log) == ["a@example.com", "b@example.com"]
    [proof] = list_proofs(ctx, delivery_id)
    assert (proof.address, proof.version, proof.sent_by) == ("proof@example.com", 1, marie.id)
    assert (proof.sent_at, proof.smtp_code) == (clock.now(), 250)
    assert proof.message_id == _received(mta)["proof@example.com"]["Message-ID"]
    # A proof neither needs nor undoes the preparation.
    assert deployment(ctx, delivery_id).state is DeliveryState.READY

    confirm_send(ctx, sam, delivery_id)
    send_until_idle(ctx)

    shown = deployment(ctx, delivery_id)
    assert (shown.counts.to_deliver, shown.counts.sent, shown.kpis.processed) == (2, 2, 2)
    assert check_counters(ctx, delivery_id).drift == []
    assert mta.recipients_counter() == {
        "proof@example.com": 1,
        "a@example.com": 1,
        "b@example.com": 1,
    }


def test_without_addresses_the_proofs_go_to_the_delivery_proof_target(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA
) -> None:
    delivery_id = scenario.delivery(html=HTML, text=TEXT)
    with pytest.raises(DeliveryError, match="no proof address"):
        send_proofs(ctx, marie, delivery_id)

    stored = set_proof_addresses(
        ctx, marie, delivery_id, [" one@Example.com", "two@example.com", "ONE@example.com"]
    )
    results = send_proofs(ctx, marie, delivery_id)

    assert stored == ["one@example.com", "two@example.com"]
    assert [r.address for r in results] == stored
    assert sorted(mta.recipients_counter()) == stored


def test_at_most_the_allowed_number_of_valid_addresses_and_nothing_sent_otherwise(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA
) -> None:
    delivery_id = scenario.delivery(html=HTML, text=TEXT)
    hundred_and_one = [f"p{n}@example.com" for n in range(101)]

    with pytest.raises(DeliveryError, match="at most 100 proof addresses are allowed, not 101"):
        send_proofs(ctx, marie, delivery_id, hundred_and_one)
    with pytest.raises(DeliveryError, match="at most 100"):
        set_proof_addresses(ctx, marie, delivery_id, hundred_and_one)
    with pytest.raises(DeliveryError, match="'not an address' is not a valid proof address"):
        send_proofs(ctx, marie, delivery_id, ["ok@example.com", "not an address"])
    with pytest.raises(DeliveryError, match="not a valid proof address"):
        send_proofs(ctx, marie, delivery_id, ["ok@example.com\r\nBcc: x@evil.example"])

    assert mta.count == 0
    assert list_proofs(ctx, delivery_id) == []


def test_a_refusal_by_the_mta_is_reported_and_recorded(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA
) -> None:
    delivery_id = scenario.delivery(html=HTML, text=TEXT)

    results = send_proofs(ctx, marie, delivery_id, ["unknown-x@example.com", "ok@example.com"])

    refused, accepted = results
    assert (refused.accepted, refused.smtp_code) == (False, 550)
    assert accepted.accepted
    assert [(p.address, p.smtp_code) for p in list_proofs(ctx, delivery_id)] == [
        ("unknown-x@example.com", 550),
        ("ok@example.com", 250),
    ]


def test_a_recipient_the_template_fails_for_gets_no_proof_and_the_reason_is_given(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA
) -> None:
    add_profile(ctx.db, ctx.clock, "lyon@example.com", attributes={"city": "Lyon"})
    delivery_id = scenario.delivery(subject="News from {{ attributes.city }}", html=HTML, text=TEXT)

    results = send_proofs(ctx, marie, delivery_id, ["lyon@example.com", "nobody@example.com"])

    assert [(r.address, r.accepted) for r in results] == [
        ("lyon@example.com", True),
        ("nobody@example.com", False),
    ]
    assert results[1].smtp_code is None
    assert "'city'" in results[1].smtp_response
    assert list(mta.recipients_counter()) == ["lyon@example.com"]


def test_sending_proofs_needs_prepare_deliveries_and_the_role_is_named(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    delivery_id = scenario.delivery(html=HTML, text=TEXT)
    approver = add_user(ctx.db, "ada", [Role.APPROVE], None, ctx.clock)

    with pytest.raises(PermissionDenied, match="the role 'prepare_deliveries' is missing"):
        send_proofs(ctx, approver, delivery_id, ["a@example.com"])
    with pytest.raises(PermissionDenied, match="the role 'prepare_deliveries' is missing"):
        set_proof_addresses(ctx, approver, delivery_id, ["a@example.com"])

    assert mta.count == 0
    with ctx.db.read() as conn:
        assert delivery_store.get_delivery(conn, delivery_id)["proof_addresses"] is None


def test_proofs_are_sent_before_the_delivery_goes_out_not_after(
    ctx: Context, scenario: Scenario, marie: User, sam: User, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.prepared(html=HTML, text=TEXT)
    confirm_send(ctx, sam, delivery_id)

    with pytest.raises(DeliveryError, match="not in state 'sending'"):
        send_proofs(ctx, marie, delivery_id, ["proof@example.com"])

    assert mta.count == 0


def test_setting_the_proof_target_keeps_the_preparation_and_the_approval(
    ctx: Context, scenario: Scenario, marie: User, sam: User
) -> None:
    ctx.settings.approval_required = True
    ada = add_user(ctx.db, "ada", [Role.APPROVE], None, ctx.clock)
    scenario.audience(["a@example.com"])
    delivery_id = scenario.prepared(html=HTML, text=TEXT)
    approve_delivery(ctx, ada, delivery_id)

    set_proof_addresses(ctx, marie, delivery_id, ["proof@example.com"])

    assert deployment(ctx, delivery_id).state is DeliveryState.APPROVED
    assert confirm_send(ctx, sam, delivery_id) is DeliveryState.SENDING
