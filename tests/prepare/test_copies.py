"""Preparing a copy made to retry a delivery: who the original delivered to can be left out."""

from __future__ import annotations

import pytest

from conftest import Scenario
from mailcast.audience.csv_import import add_profile
from mailcast.context import Context
from mailcast.deliveries.service import duplicate_delivery
from mailcast.domain import ExclusionReason, MessageStatus
from mailcast.prepare.preparation import prepare_delivery
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store import profiles as profile_store
from mailcast.users.service import User

R = ExclusionReason


@pytest.fixture
def original(ctx: Context, scenario: Scenario, mta: SandboxMTA) -> int:
    """A delivery sent to the sandbox: two delivered, one refused (hard), one deferred (soft)."""
    scenario.audience(["ok1@example.com", "ok2@example.com", "unknown1@example.com"])
    add_profile(ctx.db, ctx.clock, "full1@example.com", lists=("news",))
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    assert _statuses(ctx, delivery_id) == {
        "ok1@example.com": MessageStatus.SENT,
        "ok2@example.com": MessageStatus.SENT,
        "unknown1@example.com": MessageStatus.FAILED,
        "full1@example.com": MessageStatus.QUEUED,  # legacy: a 4xx waits for its retry
    }
    return delivery_id


def _statuses(ctx: Context, delivery_id: int) -> dict[str, str]:
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=1000)
    return {row["address"]: row["status"] for row in rows}


def _log(ctx: Context, delivery_id: int) -> dict[str | None, str]:
    with ctx.db.read() as conn:
        return {r["address"]: r["reason"] for r in delivery_store.exclusion_log(conn, delivery_id)}


def test_a_copy_leaving_out_the_delivered_targets_only_the_others(
    ctx: Context, marie: User, original: int
) -> None:
    add_profile(ctx.db, ctx.clock, "new@example.com", lists=("news",))
    copy = duplicate_delivery(ctx, marie, original, leave_out_delivered=True)

    result = prepare_delivery(ctx, marie, copy)

    # The hard failure quarantined its address; the soft one is tried again.
    assert _log(ctx, copy) == {
        "ok1@example.com": R.ALREADY_DELIVERED,
        "ok2@example.com": R.ALREADY_DELIVERED,
        "unknown1@example.com": R.QUARANTINED,
    }
    assert sorted(_statuses(ctx, copy)) == ["full1@example.com", "new@example.com"]
    assert result.exclusions == {R.ALREADY_DELIVERED: 2, R.QUARANTINED: 1}
    assert deployment(ctx, copy).exclusions == result.exclusions


def test_a_plain_copy_targets_everyone_again(ctx: Context, marie: User, original: int) -> None:
    copy = duplicate_delivery(ctx, marie, original)

    result = prepare_delivery(ctx, marie, copy)

    assert result.exclusions == {R.QUARANTINED: 1}
    assert sorted(_statuses(ctx, copy)) == [
        "full1@example.com",
        "ok1@example.com",
        "ok2@example.com",
    ]


def test_earlier_rules_win_and_a_second_profile_of_a_delivered_address_is_a_duplicate(
    ctx: Context, marie: User, original: int
) -> None:
    with ctx.db.write() as conn:
        gone = profile_store.get_profile_by_email(conn, "ok2@example.com")
        assert gone is not None
        profile_store.set_email_subscribed(conn, gone["id"], False, ctx.clock.now())
    add_profile(ctx.db, ctx.clock, "OK1@example.com", lists=("news",))
    copy = duplicate_delivery(ctx, marie, original, leave_out_delivered=True)

    prepare_delivery(ctx, marie, copy)

    assert _log(ctx, copy) == {
        "ok1@example.com": R.ALREADY_DELIVERED,
        "OK1@example.com": R.DUPLICATE,
        "ok2@example.com": R.DENYLISTED,
        "unknown1@example.com": R.QUARANTINED,
    }
