"""Occurrences that report into one delivery per local day, ISO week or month."""

from __future__ import annotations

import datetime as dt

import pytest
from recurring_helpers import children, delivery, log_statuses, new_recurring, outcomes, utc

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import stop_delivery
from mailcast.domain import Aggregation, DeliveryState, MessageStatus, OccurrenceOutcome
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.recurring.service import confirm_occurrence, occurrences_of
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.users.service import User

AUDIENCE = ["ann@example.com", "bob@example.com"]
# Tuesday 6 January 2026, 9:00 in Paris; the clock starts the day before.
FIRST = utc(2026, 1, 6, 8)
EVENING_BEFORE = utc(2026, 1, 5, 20)  # after the last occurrence of "0 9,15 * * *" on the 5th
DAY = dt.timedelta(days=1)
VALIDITY = dt.timedelta(hours=84)


@pytest.fixture
def audience(scenario: Scenario) -> None:
    scenario.audience(AUDIENCE)


def test_a_period_delivery_stays_sending_until_its_day_is_over(
    ctx: Context, clock: ManualClock, sam: User, audience: None, mta: SandboxMTA
) -> None:
    recurring_id = new_recurring(ctx, sam, aggregation=Aggregation.DAY, confirm=False)
    clock.set(FIRST)
    run_due_occurrences(ctx)
    [period] = children(ctx, recurring_id)

    assert (period["name"], period["aggregate_period"]) == (
        "Morning news — 2026-01-06",
        "2026-01-06",
    )
    # Its validity runs from the end of the period: Paris midnight is 23:00 UTC.
    assert period["validity_ends_at"] == utc(2026, 1, 6, 23) + VALIDITY
    send_until_idle(ctx)
    assert log_statuses(ctx, period["id"]) == dict.fromkeys(AUDIENCE, MessageStatus.SENT)
    assert delivery(ctx, period["id"])["state"] == DeliveryState.SENDING  # the day goes on

    clock.set(utc(2026, 1, 6, 22, 59))
    assert run_due_occurrences(ctx)["periods_closed"] == 0
    clock.set(utc(2026, 1, 6, 23))
    assert run_due_occurrences(ctx)["periods_closed"] == 1
    closed = delivery(ctx, period["id"])
    assert (closed["state"], closed["sent_at"]) == (DeliveryState.SENT, clock.now())

    clock.set(FIRST + DAY)
    run_due_occurrences(ctx)
    assert [c["aggregate_period"] for c in children(ctx, recurring_id)] == [
        "2026-01-06",
        "2026-01-07",
    ]


def test_a_period_is_not_closed_while_messages_wait_for_their_hand_off(
    ctx: Context, clock: ManualClock, sam: User, audience: None
) -> None:
    recurring_id = new_recurring(ctx, sam, aggregation=Aggregation.DAY, confirm=False)
    clock.set(FIRST)
    run_due_occurrences(ctx)

    clock.set(utc(2026, 1, 7, 0))  # the day is over, but nothing was sent yet
    assert run_due_occurrences(ctx)["periods_closed"] == 0

    [period] = children(ctx, recurring_id)
    assert delivery(ctx, period["id"])["state"] == DeliveryState.SENDING


def test_later_occurrences_of_the_day_add_their_recipients_to_the_same_delivery(
    ctx: Context,
    clock: ManualClock,
    scenario: Scenario,
    sam: User,
    audience: None,
    mta: SandboxMTA,
) -> None:
    clock.set(EVENING_BEFORE)
    recurring_id = new_recurring(
        ctx, sam, recurrence="0 9,15 * * *", aggregation=Aggregation.DAY, confirm=False
    )
    clock.set(FIRST)
    run_due_occurrences(ctx)
    send_until_idle(ctx)
    scenario.audience(["cy@example.com"])  # subscribed during the day

    clock.set(FIRST + dt.timedelta(hours=6))
    done = run_due_occurrences(ctx)
    send_until_idle(ctx)

    assert done["occurrences_run"] == 1
    [period] = children(ctx, recurring_id)
    assert outcomes(ctx, recurring_id) == [
        (FIRST, OccurrenceOutcome.CREATED),
        (FIRST + dt.timedelta(hours=6), OccurrenceOutcome.AGGREGATED),
    ]
    assert {o.delivery_id for o in occurrences_of(ctx, recurring_id)} == {period["id"]}
    # Each occurrence goes to the whole target of its time; the day's KPIs count them all.
    assert mta.recipients_counter() == {
        "ann@example.com": 2,
        "bob@example.com": 2,
        "cy@example.com": 1,
    }
    assert deployment(ctx, period["id"]).counts.to_deliver == 5
    assert deployment(ctx, period["id"]).counts.sent == 5
    assert delivery(ctx, period["id"])["state"] == DeliveryState.SENDING


@pytest.mark.parametrize(
    ("aggregation", "recurrence", "due", "periods"),
    [
        # Tuesday and Sunday of ISO week 2, then Monday of week 3.
        (
            Aggregation.WEEK,
            "0 9 * * TUE,SUN,MON",
            [FIRST, utc(2026, 1, 11, 8), utc(2026, 1, 12, 8)],
            ["2026-W02", "2026-W03"],
        ),
        # The 6th and the 31st of January, then the 6th of February.
        (
            Aggregation.MONTH,
            "0 9 6,31 * *",
            [FIRST, utc(2026, 1, 31, 8), utc(2026, 2, 6, 8)],
            ["2026-01", "2026-02"],
        ),
    ],
)
def test_occurrences_of_one_week_or_month_report_into_one_delivery(
    ctx: Context,
    clock: ManualClock,
    sam: User,
    audience: None,
    mta: SandboxMTA,
    aggregation: Aggregation,
    recurrence: str,
    due: list[dt.datetime],
    periods: list[str],
) -> None:
    recurring_id = new_recurring(
        ctx, sam, recurrence=recurrence, aggregation=aggregation, confirm=False
    )
    for moment in due:
        clock.set(moment)
        run_due_occurrences(ctx)
        send_until_idle(ctx)

    first, second = children(ctx, recurring_id)
    assert [first["aggregate_period"], second["aggregate_period"]] == periods
    assert [o for _, o in outcomes(ctx, recurring_id)] == [
        OccurrenceOutcome.CREATED,
        OccurrenceOutcome.AGGREGATED,
        OccurrenceOutcome.CREATED,
    ]
    # The first period ended before the third occurrence: that tick marked it sent.
    assert delivery(ctx, first["id"])["state"] == DeliveryState.SENT
    assert delivery(ctx, second["id"])["state"] == DeliveryState.SENDING


def test_a_period_delivery_waits_for_confirmation_once(
    ctx: Context, clock: ManualClock, marie: User, sam: User, audience: None
) -> None:
    clock.set(EVENING_BEFORE)
    recurring_id = new_recurring(ctx, marie, recurrence="0 9,15 * * *", aggregation=Aggregation.DAY)
    clock.set(FIRST)
    run_due_occurrences(ctx)
    [period] = children(ctx, recurring_id)
    assert period["state"] == DeliveryState.PENDING_CONFIRMATION

    clock.advance(dt.timedelta(hours=1))
    confirm_occurrence(ctx, sam, period["id"])
    assert delivery(ctx, period["id"])["validity_ends_at"] == utc(2026, 1, 6, 23) + VALIDITY

    clock.set(FIRST + dt.timedelta(hours=6))
    run_due_occurrences(ctx)
    assert [c["id"] for c in children(ctx, recurring_id)] == [period["id"]]
    assert outcomes(ctx, recurring_id)[-1][1] is OccurrenceOutcome.AGGREGATED
    assert delivery(ctx, period["id"])["state"] == DeliveryState.SENDING


def test_an_unconfirmed_period_delivery_is_skipped_and_the_next_occurrence_starts_anew(
    ctx: Context, clock: ManualClock, marie: User, audience: None
) -> None:
    clock.set(EVENING_BEFORE)
    recurring_id = new_recurring(ctx, marie, recurrence="0 9,15 * * *", aggregation=Aggregation.DAY)
    clock.set(FIRST)
    run_due_occurrences(ctx)

    clock.set(FIRST + dt.timedelta(hours=6))
    run_due_occurrences(ctx)

    first, second = children(ctx, recurring_id)
    assert (first["state"], second["state"]) == (
        DeliveryState.SKIPPED,
        DeliveryState.PENDING_CONFIRMATION,
    )
    assert first["aggregate_period"] == second["aggregate_period"] == "2026-01-06"
    assert [o for _, o in outcomes(ctx, recurring_id)] == [
        OccurrenceOutcome.SKIPPED,
        OccurrenceOutcome.CREATED,
    ]


def test_nothing_is_added_to_a_stopped_period_delivery(
    ctx: Context, clock: ManualClock, sam: User, audience: None
) -> None:
    clock.set(EVENING_BEFORE)
    recurring_id = new_recurring(
        ctx, sam, recurrence="0 9,15 * * *", aggregation=Aggregation.DAY, confirm=False
    )
    clock.set(FIRST)
    run_due_occurrences(ctx)
    [period] = children(ctx, recurring_id)
    stop_delivery(ctx, sam, period["id"])

    clock.set(FIRST + dt.timedelta(hours=6))
    assert run_due_occurrences(ctx)["occurrences_failed"] == 1

    last = occurrences_of(ctx, recurring_id)[-1]
    assert last.outcome is OccurrenceOutcome.FAILED
    assert last.detail == f"the period's delivery {period['id']} is 'stopped': nothing was added"
    assert len(children(ctx, recurring_id)) == 1
