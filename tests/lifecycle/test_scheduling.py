"""Scheduling: a send date in a time zone, the scheduler starting it, cancelling, changing it."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.config import RelaySettings, Settings
from mailcast.context import Context
from mailcast.deliveries.service import (
    DeliveryError,
    cancel_schedule,
    confirm_send,
    edit_delivery,
    pause_delivery,
)
from mailcast.domain import DeliveryState, TransitionError
from mailcast.prepare.preparation import prepare_delivery
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule import run_due_jobs
from mailcast.schedule.starts import start_due_deliveries
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store.db import Database
from mailcast.users.service import PermissionDenied, User

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)


def _row(ctx: Context, delivery_id: int) -> dict:
    with ctx.db.read() as conn:
        return dict(delivery_store.get_delivery(conn, delivery_id))


def _state(ctx: Context, delivery_id: int) -> DeliveryState:
    return DeliveryState(_row(ctx, delivery_id)["state"])


def _scheduled(scenario: Scenario, clock: ManualClock, after: dt.timedelta = HOUR) -> int:
    """A prepared delivery dated `after` from now, confirmed: scheduled."""
    delivery_id = scenario.prepared(send_at=clock.now() + after)
    assert confirm_send(scenario.ctx, scenario.starter, delivery_id) is DeliveryState.SCHEDULED
    return delivery_id


# --- the send date and its time zone --------------------------------------------------------


def test_a_date_without_offset_is_read_in_the_given_zone_and_stored_in_utc(
    ctx: Context, scenario: Scenario
) -> None:
    scenario.audience(["a@example.com"])
    winter = scenario.delivery(send_at=dt.datetime(2026, 1, 20, 9, 0), send_timezone="Asia/Seoul")
    summer = scenario.delivery(send_at=dt.datetime(2026, 7, 20, 9, 0), send_timezone="Europe/Paris")

    assert _row(ctx, winter)["send_at"] == dt.datetime(2026, 1, 20, 0, 0, tzinfo=UTC)
    assert _row(ctx, winter)["send_timezone"] == "Asia/Seoul"
    # Paris is UTC+2 in summer (daylight saving time), UTC+1 in winter.
    assert _row(ctx, summer)["send_at"] == dt.datetime(2026, 7, 20, 7, 0, tzinfo=UTC)


def test_a_date_with_an_offset_keeps_its_instant_and_no_zone_means_utc(
    ctx: Context, scenario: Scenario
) -> None:
    scenario.audience(["a@example.com"])
    offset = dt.timezone(dt.timedelta(hours=-5))
    given = scenario.delivery(send_at=dt.datetime(2026, 3, 1, 9, 0, tzinfo=offset))
    naive = scenario.delivery(send_at=dt.datetime(2026, 3, 1, 9, 0))

    assert _row(ctx, given)["send_at"] == dt.datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
    assert _row(ctx, naive)["send_at"] == dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_an_unknown_time_zone_is_refused_and_nothing_is_created(
    ctx: Context, scenario: Scenario
) -> None:
    scenario.audience(["a@example.com"])
    with pytest.raises(DeliveryError, match="unknown time zone 'Mars/Olympus'"):
        scenario.delivery(send_at=dt.datetime(2026, 3, 1, 9), send_timezone="Mars/Olympus")
    with ctx.db.read() as conn:
        assert delivery_store.list_deliveries(conn) == []


def test_a_new_time_zone_keeps_the_wall_clock_time(ctx: Context, scenario: Scenario) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.delivery(
        send_at=dt.datetime(2026, 3, 2, 9, 0), send_timezone="Europe/Paris"
    )

    edit_delivery(ctx, scenario.author, delivery_id, send_timezone="America/New_York")

    row = _row(ctx, delivery_id)
    assert (row["send_at"], row["send_timezone"]) == (
        dt.datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        "America/New_York",
    )

    # A new date without an offset is read in the zone the delivery already has.
    edit_delivery(ctx, scenario.author, delivery_id, send_at=dt.datetime(2026, 7, 1, 9, 0))
    assert _row(ctx, delivery_id)["send_at"] == dt.datetime(2026, 7, 1, 13, 0, tzinfo=UTC)


# --- confirm, then the scheduler starts it --------------------------------------------------


def test_confirming_a_dated_delivery_schedules_it_and_nothing_leaves_before_the_date(
    ctx: Context, scenario: Scenario, clock: ManualClock, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = _scheduled(scenario, clock)

    clock.advance(HOUR - dt.timedelta(seconds=1))
    assert run_due_jobs(ctx)["deliveries_started"] == 0
    send_until_idle(ctx)

    assert _state(ctx, delivery_id) is DeliveryState.SCHEDULED
    assert mta.count == 0


def test_the_scheduler_starts_it_when_the_date_comes_and_the_validity_runs_from_then(
    ctx: Context, scenario: Scenario, clock: ManualClock, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = _scheduled(scenario, clock)

    start = clock.advance(HOUR)
    assert run_due_jobs(ctx)["deliveries_started"] == 1
    row = _row(ctx, delivery_id)
    assert (row["state"], row["started_at"]) == (DeliveryState.SENDING, start)
    assert row["validity_ends_at"] == start + dt.timedelta(hours=row["validity_hours"])

    send_until_idle(ctx)
    assert sorted(mta.recipients_counter()) == ["a@example.com", "b@example.com"]
    assert _state(ctx, delivery_id) is DeliveryState.SENT


def test_a_schedule_confirmed_before_a_restart_starts_after_it(
    db_url: str, scenario: Scenario, clock: ManualClock, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = _scheduled(scenario, clock, after=dt.timedelta(days=1))
    scenario.ctx.db.dispose()  # mailcast stops: nothing of the schedule is left in memory

    settings = Settings(
        database_url=db_url, secret_key="test-secret", relay=RelaySettings(port=mta.port)
    )
    restarted = Context(settings, Database(db_url), clock)
    clock.advance(dt.timedelta(days=2))  # it was down when the date came
    assert run_due_jobs(restarted)["deliveries_started"] == 1
    send_until_idle(restarted)

    assert mta.recipients_counter() == {"a@example.com": 1}
    assert _state(restarted, delivery_id) is DeliveryState.SENT
    restarted.db.dispose()


def test_two_schedulers_start_a_delivery_once(
    ctx: Context, scenario: Scenario, clock: ManualClock, db_url: str
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = _scheduled(scenario, clock)
    other = Context(ctx.settings, Database(db_url), clock)
    clock.advance(HOUR)

    assert start_due_deliveries(ctx) + start_due_deliveries(other) == 1
    assert _state(ctx, delivery_id) is DeliveryState.SENDING
    other.db.dispose()


def test_a_scheduled_delivery_cannot_be_paused(
    ctx: Context, scenario: Scenario, clock: ManualClock, sam: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = _scheduled(scenario, clock)
    with pytest.raises(TransitionError, match="'scheduled' cannot become 'paused'"):
        pause_delivery(ctx, sam, delivery_id)
    assert _state(ctx, delivery_id) is DeliveryState.SCHEDULED


# --- cancelling and changing the schedule ---------------------------------------------------


def test_cancelling_returns_it_to_draft_and_it_must_be_prepared_again(
    ctx: Context, scenario: Scenario, clock: ManualClock, sam: User, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = _scheduled(scenario, clock)

    cancel_schedule(ctx, sam, delivery_id)

    assert _state(ctx, delivery_id) is DeliveryState.DRAFT
    assert deployment(ctx, delivery_id).counts.to_deliver == 0  # the preparation is gone
    clock.advance(HOUR)
    assert run_due_jobs(ctx)["deliveries_started"] == 0
    with pytest.raises(DeliveryError, match="prepared again"):
        confirm_send(ctx, sam, delivery_id)
    send_until_idle(ctx)
    assert mta.count == 0


def test_cancel_until_it_starts_refused_after(
    ctx: Context, scenario: Scenario, clock: ManualClock, sam: User
) -> None:
    scenario.audience(["a@example.com"])
    cancelled = _scheduled(scenario, clock)
    started = _scheduled(scenario, clock)
    clock.advance(HOUR - dt.timedelta(seconds=1))
    cancel_schedule(ctx, sam, cancelled)  # a second before the date: still possible

    clock.advance(dt.timedelta(seconds=1))
    run_due_jobs(ctx)
    with pytest.raises(DeliveryError, match="this one is 'sending'"):
        cancel_schedule(ctx, sam, started)
    assert _state(ctx, cancelled) is DeliveryState.DRAFT
    assert _state(ctx, started) is DeliveryState.SENDING


def test_cancelling_needs_start_deliveries(
    ctx: Context, scenario: Scenario, clock: ManualClock, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = _scheduled(scenario, clock)
    with pytest.raises(PermissionDenied, match="'start_deliveries' is missing"):
        cancel_schedule(ctx, marie, delivery_id)
    assert _state(ctx, delivery_id) is DeliveryState.SCHEDULED


def test_changing_the_send_date_sends_it_back_to_draft_to_prepare_again(
    ctx: Context, scenario: Scenario, clock: ManualClock, marie: User, sam: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = _scheduled(scenario, clock)

    edit_delivery(ctx, marie, delivery_id, send_at=clock.now() + 3 * HOUR)

    assert _state(ctx, delivery_id) is DeliveryState.DRAFT
    clock.advance(HOUR)
    assert run_due_jobs(ctx)["deliveries_started"] == 0
    prepare_delivery(ctx, marie, delivery_id)
    assert confirm_send(ctx, sam, delivery_id) is DeliveryState.SCHEDULED
    assert _row(ctx, delivery_id)["send_at"] == clock.now() + 2 * HOUR


def test_changing_the_time_zone_sends_it_back_to_draft(
    ctx: Context, scenario: Scenario, clock: ManualClock, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = _scheduled(scenario, clock, after=dt.timedelta(days=3))
    edit_delivery(ctx, marie, delivery_id, send_timezone="Asia/Seoul")
    assert _state(ctx, delivery_id) is DeliveryState.DRAFT
    assert _row(ctx, delivery_id)["send_timezone"] == "Asia/Seoul"
