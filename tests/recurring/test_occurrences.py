"""Occurrences of a recurring delivery without aggregation: confirmation, skipping, downtime."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from recurring_helpers import children, delivery, log_statuses, new_recurring, outcomes, utc

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import DeliveryState, MessageStatus, OccurrenceOutcome, Role
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.recurring.service import (
    RecurringError,
    confirm_occurrence,
    get_recurring,
    occurrences_of,
    set_recurring_active,
)
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule.tick import run_due_jobs
from mailcast.send.engine import send_until_idle
from mailcast.store import messages as message_store
from mailcast.store.db import Database
from mailcast.users.service import PermissionDenied, User, add_user, set_roles

AUDIENCE = ["ann@example.com", "bob@example.com"]
# The clock starts on Monday 5 January 2026 at 09:00 UTC (10:00 in Paris); 9:00 Paris is 08:00 UTC.
FIRST = utc(2026, 1, 6, 8)
DAY = dt.timedelta(days=1)


@pytest.fixture
def audience(scenario: Scenario) -> None:
    scenario.audience(AUDIENCE)


def test_an_occurrence_creates_a_prepared_delivery_that_waits_for_confirmation(
    ctx: Context, clock: ManualClock, marie: User, audience: None, mta: SandboxMTA
) -> None:
    recurring_id = new_recurring(ctx, marie)
    assert get_recurring(ctx, recurring_id).next_occurrence_at == FIRST

    clock.set(FIRST)
    done = run_due_occurrences(ctx)
    send_until_idle(ctx)

    assert done["occurrences_run"] == 1
    [child] = children(ctx, recurring_id)
    assert child["name"] == "Morning news — 2026-01-06 09:00"
    assert child["state"] == DeliveryState.PENDING_CONFIRMATION
    assert (child["occurrence_at"], child["created_by"]) == (FIRST, marie.id)
    assert log_statuses(ctx, child["id"]) == dict.fromkeys(AUDIENCE, MessageStatus.QUEUED)
    assert mta.count == 0  # nothing leaves before a start_deliveries user confirms
    [occurrence] = occurrences_of(ctx, recurring_id)
    assert (occurrence.outcome, occurrence.delivery_id) == (OccurrenceOutcome.CREATED, child["id"])
    assert get_recurring(ctx, recurring_id).next_occurrence_at == FIRST + DAY


def test_sam_confirms_an_occurrence_and_marie_is_refused_with_the_role_named(
    ctx: Context, clock: ManualClock, marie: User, sam: User, audience: None
) -> None:
    recurring_id = new_recurring(ctx, marie)
    clock.set(FIRST)
    run_due_occurrences(ctx)
    [child] = children(ctx, recurring_id)

    with pytest.raises(PermissionDenied, match="the role 'start_deliveries' is missing"):
        confirm_occurrence(ctx, marie, child["id"])
    assert delivery(ctx, child["id"])["state"] == DeliveryState.PENDING_CONFIRMATION

    clock.advance(dt.timedelta(minutes=20))
    assert confirm_occurrence(ctx, sam, child["id"]) is DeliveryState.SENDING

    confirmed = delivery(ctx, child["id"])
    assert confirmed["state"] == DeliveryState.SENDING
    assert (confirmed["confirmed_by"], confirmed["confirmed_at"]) == (sam.id, clock.now())
    assert confirmed["started_at"] == clock.now()
    validity = dt.timedelta(hours=ctx.settings.validity_hours)
    assert confirmed["validity_ends_at"] == clock.now() + validity
    with pytest.raises(RecurringError, match="only an occurrence waiting for confirmation"):
        confirm_occurrence(ctx, sam, child["id"])


def test_an_ordinary_delivery_is_not_confirmed_as_an_occurrence(
    ctx: Context, scenario: Scenario, sam: User, audience: None
) -> None:
    delivery_id = scenario.prepared()

    with pytest.raises(RecurringError, match="not an occurrence of a recurring one"):
        confirm_occurrence(ctx, sam, delivery_id)


def test_an_occurrence_left_unconfirmed_until_the_next_one_is_skipped(
    ctx: Context, clock: ManualClock, marie: User, sam: User, audience: None
) -> None:
    recurring_id = new_recurring(ctx, marie)
    clock.set(FIRST)
    run_due_occurrences(ctx)

    clock.set(FIRST + DAY)
    done = run_due_occurrences(ctx)

    assert (done["occurrences_run"], done["occurrences_skipped"]) == (1, 1)
    first, second = children(ctx, recurring_id)
    assert first["state"] == DeliveryState.SKIPPED
    assert second["state"] == DeliveryState.PENDING_CONFIRMATION
    assert outcomes(ctx, recurring_id) == [
        (FIRST, OccurrenceOutcome.SKIPPED),
        (FIRST + DAY, OccurrenceOutcome.CREATED),
    ]
    assert log_statuses(ctx, first["id"]) == dict.fromkeys(AUDIENCE, MessageStatus.NOT_SENT)
    with ctx.db.read() as conn:
        line = message_store.sending_log(conn, first["id"])[0]
    assert line["smtp_response"] == "not sent: the occurrence was not confirmed before the next one"
    with pytest.raises(RecurringError, match="'skipped'"):
        confirm_occurrence(ctx, sam, first["id"])


def test_a_confirmed_occurrence_is_not_skipped_by_the_next_one(
    ctx: Context, clock: ManualClock, marie: User, sam: User, audience: None
) -> None:
    recurring_id = new_recurring(ctx, marie)
    clock.set(FIRST)
    run_due_occurrences(ctx)
    confirm_occurrence(ctx, sam, children(ctx, recurring_id)[0]["id"])

    clock.set(FIRST + DAY)
    assert run_due_occurrences(ctx)["occurrences_skipped"] == 0

    assert [c["state"] for c in children(ctx, recurring_id)] == [
        DeliveryState.SENDING,
        DeliveryState.PENDING_CONFIRMATION,
    ]


def test_without_confirmation_the_occurrence_is_sent_at_once_as_its_creator(
    ctx: Context, clock: ManualClock, sam: User, audience: None, mta: SandboxMTA
) -> None:
    recurring_id = new_recurring(ctx, sam, confirm=False)
    clock.set(FIRST + dt.timedelta(seconds=5))

    run_due_jobs(ctx)  # through the scheduler's tick, as `mailcast serve` runs it
    [child] = children(ctx, recurring_id)
    assert child["state"] == DeliveryState.SENDING
    assert (child["confirmed_by"], child["started_at"]) == (sam.id, clock.now())
    send_until_idle(ctx)

    assert delivery(ctx, child["id"])["state"] == DeliveryState.SENT
    assert sorted(mta.recipients_counter()) == AUDIENCE
    assert log_statuses(ctx, child["id"]) == dict.fromkeys(AUDIENCE, MessageStatus.SENT)


def test_a_confirmed_occurrence_is_sent_through_the_mta(
    ctx: Context, clock: ManualClock, marie: User, sam: User, audience: None, mta: SandboxMTA
) -> None:
    recurring_id = new_recurring(ctx, marie)
    clock.set(FIRST)
    run_due_occurrences(ctx)
    [child] = children(ctx, recurring_id)
    confirm_occurrence(ctx, sam, child["id"])

    send_until_idle(ctx)

    assert delivery(ctx, child["id"])["state"] == DeliveryState.SENT
    assert mta.recipients_counter() == dict.fromkeys(AUDIENCE, 1)


def test_only_start_deliveries_may_create_a_recurring_delivery_without_confirmation(
    ctx: Context, marie: User, audience: None
) -> None:
    with pytest.raises(PermissionDenied, match="the role 'start_deliveries' is missing"):
        new_recurring(ctx, marie, confirm=False)
    approver = add_user(ctx.db, "ada", [Role.APPROVE], None, ctx.clock)
    with pytest.raises(PermissionDenied, match="the role 'prepare_deliveries' is missing"):
        new_recurring(ctx, approver)


def test_missed_occurrences_run_once_the_latest_and_the_others_are_recorded_missed(
    ctx: Context, clock: ManualClock, marie: User, audience: None
) -> None:
    recurring_id = new_recurring(ctx, marie)
    # mailcast was down from before the first occurrence until five days later.
    clock.set(FIRST + 4 * DAY + dt.timedelta(hours=3))

    done = run_due_occurrences(ctx)

    assert (done["occurrences_run"], done["occurrences_missed"]) == (1, 4)
    assert outcomes(ctx, recurring_id) == [
        *[(FIRST + n * DAY, OccurrenceOutcome.MISSED) for n in range(4)],
        (FIRST + 4 * DAY, OccurrenceOutcome.CREATED),
    ]
    [child] = children(ctx, recurring_id)
    assert child["occurrence_at"] == FIRST + 4 * DAY
    assert get_recurring(ctx, recurring_id).next_occurrence_at == FIRST + 5 * DAY
    assert run_due_occurrences(ctx)["occurrences_run"] == 0


def test_a_blocking_error_fails_the_occurrence_and_leaves_its_delivery_in_draft(
    ctx: Context, clock: ManualClock, marie: User, audience: None
) -> None:
    bad_link = '<a href="https://exa mple.com/">x</a> <a href="{{ unsubscribe_url }}">Stop</a>'
    recurring_id = new_recurring(ctx, marie, html=bad_link)
    clock.set(FIRST)

    assert run_due_occurrences(ctx)["occurrences_failed"] == 1

    [child] = children(ctx, recurring_id)
    assert child["state"] == DeliveryState.DRAFT
    [occurrence] = occurrences_of(ctx, recurring_id)
    assert occurrence.outcome is OccurrenceOutcome.FAILED
    assert occurrence.delivery_id == child["id"]
    assert occurrence.detail == "urls: malformed URL: 'https://exa mple.com/'"


def test_an_occurrence_fails_when_its_creator_lost_the_role_to_prepare(
    ctx: Context, clock: ManualClock, audience: None
) -> None:
    olga = add_user(ctx.db, "olga", [Role.PREPARE], None, ctx.clock)
    recurring_id = new_recurring(ctx, olga)
    set_roles(ctx.db, "olga", [Role.APPROVE])
    clock.set(FIRST)

    run_due_occurrences(ctx)

    [occurrence] = occurrences_of(ctx, recurring_id)
    assert occurrence.outcome is OccurrenceOutcome.FAILED
    assert occurrence.detail is not None
    assert "the role 'prepare_deliveries' is missing" in occurrence.detail
    assert children(ctx, recurring_id) == []


def test_a_switched_off_recurring_delivery_resumes_at_its_next_occurrence(
    ctx: Context, clock: ManualClock, marie: User, audience: None
) -> None:
    recurring_id = new_recurring(ctx, marie)
    set_recurring_active(ctx, marie, recurring_id, False)

    clock.set(FIRST + 3 * DAY + dt.timedelta(hours=1))
    assert run_due_occurrences(ctx)["occurrences_run"] == 0
    resumed = set_recurring_active(ctx, marie, recurring_id, True)

    # The days it was off are neither run nor recorded as missed.
    assert resumed.next_occurrence_at == FIRST + 4 * DAY
    assert outcomes(ctx, recurring_id) == []
    approver = add_user(ctx.db, "ada", [Role.APPROVE], None, ctx.clock)
    with pytest.raises(PermissionDenied, match="prepare_deliveries"):
        set_recurring_active(ctx, approver, recurring_id, False)


def test_two_schedulers_at_once_run_each_occurrence_once(
    ctx: Context, clock: ManualClock, marie: User, audience: None
) -> None:
    ids = [new_recurring(ctx, marie, recurrence=f"{m} 9 * * *") for m in (0, 0, 5, 10)]
    clock.set(FIRST + dt.timedelta(minutes=30))
    start = threading.Barrier(4)

    def scheduler() -> dict[str, int]:
        # Each scheduler is a process of its own: its own engine and connections.
        own = Context(ctx.settings, Database(ctx.settings.database_url), clock)
        start.wait()
        try:
            return run_due_occurrences(own)
        finally:
            own.db.dispose()

    with ThreadPoolExecutor(4) as pool:
        results = [job.result() for job in [pool.submit(scheduler) for _ in range(4)]]

    assert sum(r["occurrences_run"] for r in results) == len(ids)
    for recurring_id in ids:
        assert len(children(ctx, recurring_id)) == 1
        assert [o for _, o in outcomes(ctx, recurring_id)] == [OccurrenceOutcome.CREATED]
