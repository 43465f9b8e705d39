"""Duplicating a delivery (copy-and-retry): a new draft, same content, no schedule."""

from __future__ import annotations

import datetime as dt

import pytest
from lifecycle_helpers import Relay

from conftest import Scenario
from mailcast.audience.target import Target
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import confirm_send, duplicate_delivery, stop_delivery
from mailcast.domain import DeliveryState, ExclusionReason, FeedbackMode, Role
from mailcast.prepare.preparation import prepare_delivery
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.users.service import PermissionDenied, User, add_user

CONTENT = ("subject", "from_addr", "reply_to", "html_template", "text_template", "target")


def _row(ctx: Context, delivery_id: int) -> dict:
    with ctx.db.read() as conn:
        return dict(delivery_store.get_delivery(conn, delivery_id))


def test_the_copy_is_a_new_draft_with_the_same_content_target_and_options(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    original = scenario.delivery(
        name="spring sale",
        reply_to="help@example.com",
        target=Target(("news",), "first_name == 'P0'"),
        target_limit=10,
        feedback_mode=FeedbackMode.EFS,
        validity_hours=24,
    )

    copy = duplicate_delivery(ctx, marie, original)

    before, after = _row(ctx, original), _row(ctx, copy)
    assert copy != original
    assert {c: after[c] for c in CONTENT} == {c: before[c] for c in CONTENT}
    assert (after["target_limit"], after["feedback_mode"], after["validity_hours"]) == (
        10,
        FeedbackMode.EFS,
        24,
    )
    assert (after["state"], after["name"], after["copied_from_id"]) == (
        DeliveryState.DRAFT,
        "Copy of spring sale",
        original,
    )
    assert after["leave_out_delivered"] is False
    assert after["created_by"] == marie.id


def test_duplicating_clears_the_schedule(
    ctx: Context, scenario: Scenario, clock: ManualClock, sam: User
) -> None:
    scenario.audience(["a@example.com"])
    original = scenario.prepared(
        send_at=dt.datetime(2026, 2, 1, 9, 0), send_timezone="Europe/Paris"
    )
    assert confirm_send(ctx, sam, original) is DeliveryState.SCHEDULED

    copy = duplicate_delivery(ctx, sam, original, name="sale, again")

    after = _row(ctx, copy)
    assert (after["send_at"], after["send_timezone"]) == (None, None)
    assert (after["name"], after["state"]) == ("sale, again", DeliveryState.DRAFT)
    assert _row(ctx, original)["state"] == DeliveryState.SCHEDULED  # the original is untouched


def test_any_state_may_be_duplicated_and_the_copy_can_leave_out_the_delivered(
    ctx: Context, scenario: Scenario, sam: User
) -> None:
    scenario.audience(["a@example.com"])
    stopped = scenario.sending()
    stop_delivery(ctx, sam, stopped)
    draft = scenario.delivery()

    for original in (stopped, draft):
        copy = duplicate_delivery(ctx, sam, original, leave_out_delivered=True)
        after = _row(ctx, copy)
        assert (after["state"], after["copied_from_id"], after["leave_out_delivered"]) == (
            DeliveryState.DRAFT,
            original,
            True,
        )


def test_duplicating_needs_prepare_deliveries(ctx: Context, scenario: Scenario) -> None:
    scenario.audience(["a@example.com"])
    original = scenario.delivery()
    approver = add_user(ctx.db, "alex", [Role.APPROVE], None, ctx.clock)

    with pytest.raises(PermissionDenied, match="'prepare_deliveries' is missing"):
        duplicate_delivery(ctx, approver, original)
    with ctx.db.read() as conn:
        assert len(delivery_store.list_deliveries(conn)) == 1


def test_copy_and_retry_after_a_stop_reaches_only_those_not_delivered(
    ctx: Context, scenario: Scenario, marie: User, sam: User
) -> None:
    readers = [f"reader{n}@example.com" for n in range(6)]
    scenario.audience(readers)
    ctx.settings.send.concurrency, ctx.settings.send.max_consecutive_errors = 1, 2
    with Relay(mail_reply="554 5.7.1 Relay access denied", accept_first=2) as failing:
        ctx.settings.relay.port = failing.port
        original = scenario.sending()
        send_until_idle(ctx)
    assert deployment(ctx, original).state is DeliveryState.PAUSED
    stop_delivery(ctx, sam, original)  # the operator gives up on that relay
    delivered = set(failing.received())
    assert len(delivered) == 2

    copy = duplicate_delivery(ctx, marie, original, leave_out_delivered=True)
    prepared = prepare_delivery(ctx, marie, copy)
    with Relay() as working:
        ctx.settings.relay.port = working.port
        confirm_send(ctx, sam, copy)
        send_until_idle(ctx)

    assert prepared.exclusions == {ExclusionReason.ALREADY_DELIVERED: 2}
    assert set(working.received()) == set(readers) - delivered
    assert (failing.received() + working.received()) == {r: 1 for r in readers}
    assert deployment(ctx, copy).state is DeliveryState.SENT
