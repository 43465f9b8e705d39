"""Preparation's filtering rules: who is left out, why, how many, and who is left to deliver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from conftest import Scenario
from mailcast.audience.csv_import import add_profile
from mailcast.audience.target import Target, TargetError, count_target
from mailcast.context import Context
from mailcast.deliveries.service import edit_delivery
from mailcast.domain import AddressStatus, ExclusionReason, MessageStatus
from mailcast.prepare.preparation import PreparationResult, prepare_delivery
from mailcast.stats.deployment import deployment
from mailcast.store import addresses as address_store
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store import profiles as profile_store
from mailcast.users.service import User

R = ExclusionReason


def _profile(ctx: Context, email: str | None, list_name: str = "news", **attributes: str) -> int:
    return add_profile(ctx.db, ctx.clock, email, attributes=attributes, lists=(list_name,))


def _unsubscribe(ctx: Context, profile_id: int) -> None:
    with ctx.db.write() as conn:
        profile_store.set_email_subscribed(conn, profile_id, False, ctx.clock.now())


def _flag(ctx: Context, address: str, status: AddressStatus) -> None:
    with ctx.db.write() as conn:
        address_store.set_address_status(conn, address.casefold(), status, ctx.clock.now())


def _prepare(ctx: Context, scenario: Scenario, marie: User, **fields: Any) -> PreparationResult:
    delivery_id = scenario.delivery(**fields)
    return prepare_delivery(ctx, marie, delivery_id)


def _exclusion_log(ctx: Context, delivery_id: int) -> dict[int, tuple[str | None, R]]:
    with ctx.db.read() as conn:
        rows = delivery_store.exclusion_log(conn, delivery_id)
    return {row["profile_id"]: (row["address"], R(row["reason"])) for row in rows}


def _queued(ctx: Context, delivery_id: int) -> dict[int, str]:
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=10_000)
    assert {row["status"] for row in rows} <= {MessageStatus.QUEUED}
    return {row["profile_id"]: row["address"] for row in rows}


def _assert_counts_add_up(
    ctx: Context, result: PreparationResult, target: Target, expected: Mapping[R, int]
) -> None:
    targeted = count_target(ctx.db, target)
    assert result.exclusions == dict(expected)
    assert result.to_deliver == targeted - sum(expected.values())
    shown = deployment(ctx, result.delivery_id)
    assert shown.counts.to_deliver == result.to_deliver
    assert shown.excluded == sum(expected.values())
    assert shown.exclusions == dict(expected)
    assert len(_queued(ctx, result.delivery_id)) == result.to_deliver


def test_each_filtering_rule_leaves_out_the_right_profiles_with_its_reason(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    ok = _profile(ctx, "ok@example.com")
    no_address = [_profile(ctx, None), _profile(ctx, None)]
    unsubscribed = _profile(ctx, "gone@example.com")
    _unsubscribe(ctx, unsubscribed)
    denylisted = _profile(ctx, "blocked@example.com")
    _flag(ctx, "blocked@example.com", AddressStatus.DENYLIST)
    quarantined = _profile(ctx, "bouncing@example.com")
    _flag(ctx, "bouncing@example.com", AddressStatus.QUARANTINE)
    first_dup = _profile(ctx, "twin@example.com")
    second_dup = _profile(ctx, "Twin@Example.com")
    # Neither an erroneous (a few soft errors) nor an allowlisted address is left out.
    erroneous = _profile(ctx, "flaky@example.com")
    _flag(ctx, "flaky@example.com", AddressStatus.ERRONEOUS)
    allowed = _profile(ctx, "vip@example.com")
    _flag(ctx, "vip@example.com", AddressStatus.ALLOWLIST)

    result = _prepare(ctx, scenario, marie)

    assert _exclusion_log(ctx, result.delivery_id) == {
        no_address[0]: (None, R.ADDRESS_EMPTY),
        no_address[1]: (None, R.ADDRESS_EMPTY),
        unsubscribed: ("gone@example.com", R.DENYLISTED),
        denylisted: ("blocked@example.com", R.DENYLISTED),
        quarantined: ("bouncing@example.com", R.QUARANTINED),
        second_dup: ("Twin@example.com", R.DUPLICATE),
    }
    assert _queued(ctx, result.delivery_id) == {
        ok: "ok@example.com",
        first_dup: "twin@example.com",
        erroneous: "flaky@example.com",
        allowed: "vip@example.com",
    }
    expected = {R.ADDRESS_EMPTY: 2, R.DENYLISTED: 2, R.QUARANTINED: 1, R.DUPLICATE: 1}
    _assert_counts_add_up(ctx, result, Target(("news",)), expected)


def test_a_profile_caught_by_several_rules_is_logged_once_under_the_first_rule(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    both = _profile(ctx, "both@example.com")
    _unsubscribe(ctx, both)
    _flag(ctx, "both@example.com", AddressStatus.QUARANTINE)
    # Quarantine belongs to the address, so every profile holding it is quarantined.
    q1, q2 = _profile(ctx, "q@example.com"), _profile(ctx, "Q@example.com")
    _flag(ctx, "q@example.com", AddressStatus.QUARANTINE)

    result = _prepare(ctx, scenario, marie)

    log = _exclusion_log(ctx, result.delivery_id)
    assert log == {
        both: ("both@example.com", R.DENYLISTED),
        q1: ("q@example.com", R.QUARANTINED),
        q2: ("Q@example.com", R.QUARANTINED),
    }
    assert result.to_deliver == 0


@pytest.mark.parametrize("unsubscribed_first", [True, False])
def test_a_mailbox_shared_with_an_unsubscribed_profile_still_gets_exactly_one_message(
    ctx: Context, scenario: Scenario, marie: User, unsubscribed_first: bool
) -> None:
    # The denylist applies before duplicates are removed (ACS order): the subscribed profile
    # of the same mailbox is not a duplicate of one that was already left out.
    addresses = ["Sam@example.com", "sam@example.com"]
    first, second = (_profile(ctx, a) for a in addresses)
    gone, kept = (first, second) if unsubscribed_first else (second, first)
    _unsubscribe(ctx, gone)

    result = _prepare(ctx, scenario, marie)

    assert list(_queued(ctx, result.delivery_id)) == [kept]
    assert _exclusion_log(ctx, result.delivery_id)[gone][1] is R.DENYLISTED
    assert result.exclusions == {R.DENYLISTED: 1}


def test_the_target_limit_caps_the_recipients_after_the_other_rules(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    for n in range(5):
        _profile(ctx, f"u{n}@example.com")
    _profile(ctx, "U0@example.com")

    result = _prepare(ctx, scenario, marie, target_limit=3)

    assert result.exclusions == {R.DUPLICATE: 1, R.TARGET_LIMIT: 2}
    assert sorted(_queued(ctx, result.delivery_id).values()) == [
        "u0@example.com",
        "u1@example.com",
        "u2@example.com",
    ]


def test_the_target_limit_is_shown_and_follows_edits_of_the_delivery(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    for n in range(5):
        _profile(ctx, f"u{n}@example.com")
    delivery_id = scenario.delivery(target_limit=2)
    figures = []
    for limit in (2, 4, 5, None):
        edit_delivery(ctx, marie, delivery_id, target_limit=limit)
        result = prepare_delivery(ctx, marie, delivery_id)
        shown = deployment(ctx, result.delivery_id)
        figures.append((limit, shown.counts.to_deliver, shown.exclusions))

    assert figures == [
        (2, 2, {R.TARGET_LIMIT: 3}),
        (4, 4, {R.TARGET_LIMIT: 1}),
        (5, 5, {}),
        (None, 5, {}),
    ]


def test_a_recipient_the_template_fails_for_still_takes_its_place_under_the_limit(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    # Rendering comes after every filtering rule: the limit is spent before it.
    _profile(ctx, "a@example.com", city="Lyon")
    _profile(ctx, "b@example.com")
    _profile(ctx, "c@example.com", city="Nice")

    result = _prepare(ctx, scenario, marie, target_limit=2, subject="In {{ attributes.city }}")

    assert result.exclusions == {R.RENDER_ERROR: 1, R.TARGET_LIMIT: 1}
    assert list(_queued(ctx, result.delivery_id).values()) == ["a@example.com"]


def test_the_attribute_filter_narrows_the_audience(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    lyon = [_profile(ctx, f"lyon{n}@example.com", city="Lyon", age=str(20 + n)) for n in range(4)]
    _profile(ctx, "paris@example.com", city="Paris", age="30")
    _profile(ctx, "nowhere@example.com")
    _unsubscribe(ctx, lyon[3])
    gone_elsewhere = _profile(ctx, "gone-paris@example.com", city="Paris")
    _unsubscribe(ctx, gone_elsewhere)
    target = Target(("news",), 'city = "Lyon" and age >= 21')

    result = _prepare(ctx, scenario, marie, target=target)

    assert count_target(ctx.db, target) == 3
    assert _queued(ctx, result.delivery_id) == {
        lyon[1]: "lyon1@example.com",
        lyon[2]: "lyon2@example.com",
    }
    # Only the profiles the filter keeps are screened: the Paris profile is not in the log.
    assert _exclusion_log(ctx, result.delivery_id) == {lyon[3]: ("lyon3@example.com", R.DENYLISTED)}
    _assert_counts_add_up(ctx, result, target, {R.DENYLISTED: 1})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('city = "Lyon"; DROP TABLE profiles; --', r"unexpected character ';' \(column 14\)"),
        ("city = 'Lyon' OR '1'='1'", r"expected a field name .* \(column 18\)"),
        ("1=1", r"expected a field name .* \(column 1\)"),
        ("city = Lyon", r"expected a value .* found 'Lyon'"),
        ("attributes.city') OR 1=1 --", r"string not closed"),
        ("email = '' UNION SELECT password_hash FROM users", r"expected 'and', 'or' or the end"),
    ],
)
def test_a_filter_that_tries_sql_injection_is_refused_and_nothing_is_created(
    ctx: Context, scenario: Scenario, text: str, problem: str
) -> None:
    scenario.audience(["a@example.com"])

    with pytest.raises(TargetError, match=rf"invalid filter: {problem}"):
        scenario.delivery(target=Target(("news",), text))

    with ctx.db.read() as conn:
        assert delivery_store.list_deliveries(conn) == []
        assert profile_store.count_profiles(conn) == 1


def test_sql_inside_a_quoted_filter_value_is_only_a_value(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    _profile(ctx, "a@example.com", city="Lyon")
    _profile(ctx, "b@example.com", city="Lyon' OR '1'='1")
    target = Target(("news",), "city = \"Lyon' OR '1'='1\"")

    result = _prepare(ctx, scenario, marie, target=target)

    assert list(_queued(ctx, result.delivery_id).values()) == ["b@example.com"]
    with ctx.db.read() as conn:
        assert profile_store.count_profiles(conn) == 2
