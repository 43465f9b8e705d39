"""Appending to a sending delivery (a recurring period's delivery): figures add up, no drift."""

from __future__ import annotations

import pytest

from conftest import Scenario
from mailcast.audience.csv_import import add_profile
from mailcast.context import Context
from mailcast.deliveries.proofs import set_proof_addresses
from mailcast.deliveries.service import DeliveryError, confirm_send
from mailcast.domain import DeliveryState, ExclusionReason, MessageStatus
from mailcast.prepare import append
from mailcast.prepare.preparation import prepare_delivery
from mailcast.prepare.rules import Finding
from mailcast.prepare.screening import Tally
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.compute import check_counters
from mailcast.stats.deployment import Deployment, deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store import profiles as profile_store
from mailcast.users.service import User

R = ExclusionReason
HTML = '<p>Hi {{ first_name }} <a href="https://{{ attributes.site }}/">site</a></p>'
LINKS = '<a href="{{ unsubscribe_url }}">unsubscribe</a>'


@pytest.fixture
def period(ctx: Context, scenario: Scenario, mta: SandboxMTA) -> int:
    """A period's delivery that sent its first occurrence: two sent, one denylisted."""
    for name in ("a", "b", "gone"):
        add_profile(
            ctx.db, ctx.clock, f"{name}@example.com", attributes={"site": "x.org"}, lists=("news",)
        )
    _unsubscribe(ctx, "gone@example.com")
    delivery_id = scenario.delivery(html=HTML + LINKS)
    with ctx.db.write() as conn:
        # A period's delivery stays sending until its period is over (recurring deliveries).
        delivery_store.update_delivery(
            conn, delivery_id, ctx.clock.now(), aggregate_period="2026-01"
        )
    _prepare_and_send(ctx, scenario, delivery_id)
    return delivery_id


def _prepare_and_send(ctx: Context, scenario: Scenario, delivery_id: int) -> None:
    assert not prepare_delivery(ctx, scenario.author, delivery_id).blocked
    confirm_send(ctx, scenario.starter, delivery_id)
    send_until_idle(ctx)


def _unsubscribe(ctx: Context, address: str) -> None:
    with ctx.db.write() as conn:
        profile = profile_store.get_profile_by_email(conn, address)
        assert profile is not None
        profile_store.set_email_subscribed(conn, profile["id"], False, ctx.clock.now())


def _figures(shown: Deployment) -> tuple[int, int, int, int]:
    return (shown.counts.to_deliver, shown.counts.queued, shown.counts.sent, shown.excluded)


def _log(ctx: Context, delivery_id: int) -> list[tuple[str, str]]:
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=1000)
    return [(row["address"], row["status"]) for row in rows]


def test_an_append_adds_messages_exclusions_and_figures_and_the_send_goes_on(
    ctx: Context, marie: User, mta: SandboxMTA, period: int
) -> None:
    before = deployment(ctx, period)
    assert (before.state, _figures(before)) == (DeliveryState.SENDING, (2, 0, 2, 1))
    add_profile(ctx.db, ctx.clock, "c@example.com", attributes={"site": "x.org"}, lists=("news",))

    result = prepare_delivery(ctx, marie, period, append=True)

    assert (result.blocked, result.state) == (False, DeliveryState.SENDING)
    assert (result.to_deliver, result.exclusions) == (3, {R.DENYLISTED: 1})
    added = deployment(ctx, period)
    assert (added.state, _figures(added)) == (DeliveryState.SENDING, (5, 3, 2, 2))
    assert added.exclusions == {R.DENYLISTED: 2}
    assert check_counters(ctx, period).drift == []

    send_until_idle(ctx)

    assert _figures(deployment(ctx, period)) == (5, 0, 5, 2)
    assert mta.recipients_counter() == {"a@example.com": 2, "b@example.com": 2, "c@example.com": 1}
    assert {status for _, status in _log(ctx, period)} == {MessageStatus.SENT}
    assert check_counters(ctx, period).drift == []


def test_the_added_messages_wait_until_the_whole_target_was_screened(
    ctx: Context, marie: User, mta: SandboxMTA, period: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    claimed_while_screening: list[int] = []
    real_findings = append.target_findings

    def then_try_to_claim(tally: Tally) -> list[Finding]:
        # The target has been walked and its messages written: a worker claims what is due.
        now = ctx.clock.now()
        with ctx.db.write() as conn:
            batch = message_store.claim_batch(conn, period, "probe", now, now, 100)
        claimed_while_screening.extend(m.id for m in batch)
        return real_findings(tally)

    monkeypatch.setattr(append, "target_findings", then_try_to_claim)

    result = prepare_delivery(ctx, marie, period, append=True)
    send_until_idle(ctx)

    assert claimed_while_screening == []
    assert result.to_deliver == 2
    assert _figures(deployment(ctx, period)) == (4, 0, 4, 2)


def test_a_blocking_error_found_in_the_target_adds_nothing(
    ctx: Context, marie: User, mta: SandboxMTA, period: int
) -> None:
    add_profile(
        ctx.db, ctx.clock, "bad@example.com", attributes={"site": "bad host"}, lists=("news",)
    )
    before, log_before = deployment(ctx, period), _log(ctx, period)

    result = prepare_delivery(ctx, marie, period, append=True)
    send_until_idle(ctx)

    assert result.blocked
    assert [(f.rule, f.message) for f in result.findings if f.level == "error"] == [
        ("urls", "malformed URL: 'https://bad host/'")
    ]
    assert (result.state, result.to_deliver, result.exclusions) == (DeliveryState.SENDING, 0, {})
    after = deployment(ctx, period)
    assert (after.state, _figures(after), after.exclusions) == (
        DeliveryState.SENDING,
        _figures(before),
        before.exclusions,
    )
    assert _log(ctx, period) == log_before
    assert mta.count == 2
    assert check_counters(ctx, period).drift == []


def test_a_control_rule_error_adds_nothing(ctx: Context, marie: User, period: int) -> None:
    set_proof_addresses(ctx, marie, period, ["p1@example.com", "p2@example.com"])
    ctx.settings.max_proof_addresses = 1
    before = deployment(ctx, period)

    result = prepare_delivery(ctx, marie, period, append=True)

    assert [f.rule for f in result.findings] == ["proofs"]
    assert result.blocked
    assert _figures(deployment(ctx, period)) == _figures(before)


def test_only_a_sending_delivery_takes_an_append(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    ready = scenario.prepared()

    with pytest.raises(DeliveryError, match="only be added to a delivery that is sending"):
        prepare_delivery(ctx, marie, ready, append=True)

    shown = deployment(ctx, ready)
    assert (shown.state, shown.counts.to_deliver) == (DeliveryState.READY, 1)
