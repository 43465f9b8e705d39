"""The fatigue rule: at most N messages per profile in a sliding period, after the target limit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from conftest import Scenario
from mailcast.audience.csv_import import add_profile
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import confirm_send
from mailcast.domain import DeliveryState, ExclusionReason
from mailcast.prepare.preparation import PreparationResult, prepare_delivery
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store import profiles as profile_store
from mailcast.users.service import User

R = ExclusionReason
DAY = dt.timedelta(days=1)


@pytest.fixture
def fatigue(ctx: Context) -> None:
    """Two messages in 15 days at most."""
    ctx.settings.typology.fatigue_max = 2
    ctx.settings.typology.fatigue_days = 15


def _profiles(ctx: Context, addresses: list[str], *lists: str) -> None:
    for address in addresses:
        add_profile(ctx.db, ctx.clock, address, lists=lists)


def _send_to(ctx: Context, scenario: Scenario, list_name: str) -> None:
    """A delivery to the list, sent over SMTP to the sandbox MTA."""
    scenario.sending(list_name=list_name)
    send_until_idle(ctx)


def _prepare(ctx: Context, scenario: Scenario, marie: User, **fields: Any) -> PreparationResult:
    return prepare_delivery(ctx, marie, scenario.delivery(**fields))


def _log(ctx: Context, delivery_id: int) -> dict[str | None, tuple[str, str | None]]:
    with ctx.db.read() as conn:
        rows = delivery_store.exclusion_log(conn, delivery_id)
    return {row["address"]: (row["reason"], row["detail"]) for row in rows}


def _queued(ctx: Context, delivery_id: int) -> list[str]:
    with ctx.db.read() as conn:
        return [r["address"] for r in message_store.sending_log(conn, delivery_id, limit=1000)]


def test_a_profile_that_had_its_share_in_the_period_is_left_out_with_the_count(
    ctx: Context,
    scenario: Scenario,
    marie: User,
    mta: SandboxMTA,
    clock: ManualClock,
    fatigue: None,
) -> None:
    _profiles(ctx, ["tired@example.com"], "few", "news")
    _profiles(ctx, ["once@example.com"], "once", "news")
    _profiles(ctx, ["fresh@example.com"], "news")
    _send_to(ctx, scenario, "few")
    clock.advance(3 * DAY)
    _send_to(ctx, scenario, "few")
    _send_to(ctx, scenario, "once")
    clock.advance(DAY)

    result = _prepare(ctx, scenario, marie)

    assert _log(ctx, result.delivery_id) == {
        "tired@example.com": (R.FATIGUE, "2 messages in the last 15 days")
    }
    assert sorted(_queued(ctx, result.delivery_id)) == ["fresh@example.com", "once@example.com"]
    shown = deployment(ctx, result.delivery_id)
    assert shown.exclusions == {R.FATIGUE: 1}
    assert (shown.counts.to_deliver, shown.excluded) == (2, 1)


def test_the_rule_is_off_unless_set(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA
) -> None:
    _profiles(ctx, ["tired@example.com"], "few", "news")
    for _ in range(5):
        _send_to(ctx, scenario, "few")

    result = _prepare(ctx, scenario, marie)

    assert result.exclusions == {}
    assert _queued(ctx, result.delivery_id) == ["tired@example.com"]


def test_messages_older_than_the_period_no_longer_count(
    ctx: Context,
    scenario: Scenario,
    marie: User,
    mta: SandboxMTA,
    clock: ManualClock,
    fatigue: None,
) -> None:
    _profiles(ctx, ["tired@example.com"], "few", "news")
    _send_to(ctx, scenario, "few")
    clock.advance(DAY)
    _send_to(ctx, scenario, "few")

    clock.advance(14 * DAY - dt.timedelta(minutes=1))
    still_tired = _prepare(ctx, scenario, marie)
    clock.advance(dt.timedelta(minutes=2))
    rested = _prepare(ctx, scenario, marie)

    assert still_tired.exclusions == {R.FATIGUE: 1}
    assert _log(ctx, still_tired.delivery_id)["tired@example.com"] == (
        R.FATIGUE,
        "2 messages in the last 15 days",
    )
    assert rested.exclusions == {}
    assert _queued(ctx, rested.delivery_id) == ["tired@example.com"]


@pytest.mark.parametrize("going_out", [DeliveryState.SENDING, DeliveryState.SCHEDULED])
def test_messages_queued_for_a_confirmed_delivery_count_and_those_of_an_unconfirmed_do_not(
    ctx: Context,
    scenario: Scenario,
    marie: User,
    sam: User,
    clock: ManualClock,
    going_out: DeliveryState,
) -> None:
    ctx.settings.typology.fatigue_max = 1
    _profiles(ctx, ["soon@example.com"], "confirmed", "news")
    _profiles(ctx, ["maybe@example.com"], "unconfirmed", "news")
    send_at = clock.now() + DAY if going_out is DeliveryState.SCHEDULED else None
    confirmed = scenario.prepared(list_name="confirmed", send_at=send_at)
    assert confirm_send(ctx, sam, confirmed) is going_out
    unconfirmed = scenario.prepared(list_name="unconfirmed")
    assert deployment(ctx, unconfirmed).state is DeliveryState.READY

    result = _prepare(ctx, scenario, marie)

    assert _log(ctx, result.delivery_id) == {
        "soon@example.com": (R.FATIGUE, "1 message in the last 15 days")
    }
    assert _queued(ctx, result.delivery_id) == ["maybe@example.com"]


def test_the_rule_counts_per_profile_not_per_address(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA, fatigue: None
) -> None:
    # Two profiles share a mailbox. The older one is kept by the duplicate rule, and it has
    # received nothing: the messages of the other profile do not make it tired.
    rested = add_profile(ctx.db, ctx.clock, "Shared@example.com", lists=("news",))
    tired = add_profile(ctx.db, ctx.clock, "shared@example.com", lists=("few", "news"))
    _send_to(ctx, scenario, "few")
    _send_to(ctx, scenario, "few")

    result = _prepare(ctx, scenario, marie)

    with ctx.db.read() as conn:
        log = delivery_store.exclusion_log(conn, result.delivery_id)
        queued = message_store.sending_log(conn, result.delivery_id)
    assert [(r["profile_id"], r["reason"]) for r in log] == [(tired, R.DUPLICATE)]
    assert [r["profile_id"] for r in queued] == [rested]


def test_the_fatigue_rule_comes_after_the_target_limit_and_frees_no_place(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA, fatigue: None
) -> None:
    _profiles(ctx, ["a-tired@example.com", "b-tired@example.com"], "few", "news")
    _profiles(ctx, ["c@example.com", "d@example.com"], "news")
    _send_to(ctx, scenario, "few")
    _send_to(ctx, scenario, "few")

    result = _prepare(ctx, scenario, marie, target_limit=2)

    # The first two (in address order) take the two places, then the fatigue rule drops them.
    assert _log(ctx, result.delivery_id) == {
        "a-tired@example.com": (R.FATIGUE, "2 messages in the last 15 days"),
        "b-tired@example.com": (R.FATIGUE, "2 messages in the last 15 days"),
        "c@example.com": (R.TARGET_LIMIT, None),
        "d@example.com": (R.TARGET_LIMIT, None),
    }
    assert result.to_deliver == 0


def test_an_earlier_rule_wins_over_fatigue(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA, fatigue: None
) -> None:
    gone = add_profile(ctx.db, ctx.clock, "gone@example.com", lists=("few", "news"))
    _send_to(ctx, scenario, "few")
    _send_to(ctx, scenario, "few")
    with ctx.db.write() as conn:
        profile_store.set_email_subscribed(conn, gone, False, ctx.clock.now())

    result = _prepare(ctx, scenario, marie)

    assert _log(ctx, result.delivery_id) == {"gone@example.com": (R.DENYLISTED, None)}
