"""The pure rules of domain.py: transitions, roles, both KPI tables of SPEC §4, retries."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from mailcast.domain import (
    REQUIRED_ROLE,
    TRANSITIONS,
    Action,
    DeliveryState,
    FeedbackMode,
    MessageStatus,
    Outcome,
    Role,
    StatusCounts,
    TransitionError,
    check_transition,
    kpis,
    missing_role,
    next_retry_at,
    next_status,
    relay_outcome,
    smtp_reply_outcome,
)

S = DeliveryState
M = MessageStatus
O = Outcome  # noqa: E741
LEGACY, EFS = FeedbackMode.LEGACY, FeedbackMode.EFS

ALLOWED = [
    (S.DRAFT, S.PREPARING),
    (S.PREPARING, S.READY),
    (S.PREPARING, S.DRAFT),
    (S.READY, S.PREPARING),
    (S.READY, S.PENDING_APPROVAL),
    (S.READY, S.PENDING_CONFIRMATION),
    (S.READY, S.SCHEDULED),
    (S.READY, S.SENDING),
    (S.READY, S.DRAFT),
    (S.PENDING_APPROVAL, S.APPROVED),
    (S.PENDING_APPROVAL, S.DRAFT),
    (S.APPROVED, S.SCHEDULED),
    (S.APPROVED, S.SENDING),
    (S.APPROVED, S.DRAFT),
    (S.PENDING_CONFIRMATION, S.SCHEDULED),
    (S.PENDING_CONFIRMATION, S.SENDING),
    (S.PENDING_CONFIRMATION, S.SKIPPED),
    (S.PENDING_CONFIRMATION, S.DRAFT),
    (S.SCHEDULED, S.SENDING),
    (S.SCHEDULED, S.DRAFT),
    (S.SENDING, S.SENT),
    (S.SENDING, S.PAUSED),
    (S.SENDING, S.STOPPED),
    (S.SENDING, S.ERROR),
    (S.SENDING, S.FINISHED),
    (S.PAUSED, S.SENDING),
    (S.PAUSED, S.STOPPED),
    (S.PAUSED, S.FINISHED),
    (S.SENT, S.FINISHED),
    (S.STOPPED, S.FINISHED),
]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transitions(current: S, target: S) -> None:
    assert check_transition(current, target) is target


FORBIDDEN = [pair for pair in itertools.product(S, S) if pair not in ALLOWED]


@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_every_other_transition_is_refused(current: S, target: S) -> None:
    with pytest.raises(TransitionError, match=f"'{current}' cannot become '{target}'"):
        check_transition(current, target)


def test_the_table_has_exactly_the_allowed_transitions() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == set(ALLOWED)


def test_nothing_leaves_a_terminal_state_but_finishing() -> None:
    assert TRANSITIONS[S.FINISHED] == TRANSITIONS[S.ERROR] == frozenset()


# --- SPEC §4, legacy mode: one test per row -------------------------------------------------


def _play(mode: FeedbackMode, *outcomes: Outcome) -> MessageStatus:
    status = M.QUEUED
    for outcome in outcomes:
        status = next_status(mode, status, outcome)
    return status


def test_legacy_relayed_is_sent() -> None:
    assert _play(LEGACY, O.RELAYED) is M.SENT


def test_legacy_hard_bounce_turns_sent_into_failed() -> None:
    assert _play(LEGACY, O.RELAYED, O.HARD_BOUNCE) is M.FAILED


def test_legacy_soft_bounce_stays_sent() -> None:
    assert _play(LEGACY, O.RELAYED, O.SOFT_BOUNCE) is M.SENT


def test_legacy_retry_success_stays_sent() -> None:
    assert _play(LEGACY, O.RELAYED, O.SOFT_BOUNCE, O.RETRY_SUCCEEDED) is M.SENT


def test_legacy_retries_failing_turn_sent_into_failed() -> None:
    assert _play(LEGACY, O.RELAYED, O.SOFT_BOUNCE, O.RETRIES_FAILED) is M.FAILED


# --- SPEC §4, EFS mode: one test per row ----------------------------------------------------


def test_efs_relayed_is_pending() -> None:
    assert _play(EFS, O.RELAYED) is M.PENDING


def test_efs_delivery_reported_turns_pending_into_sent() -> None:
    assert _play(EFS, O.RELAYED, O.DELIVERED) is M.SENT


def test_efs_hard_bounce_turns_pending_into_failed() -> None:
    assert _play(EFS, O.RELAYED, O.HARD_BOUNCE) is M.FAILED


def test_efs_soft_bounce_turns_pending_into_failed() -> None:
    assert _play(EFS, O.RELAYED, O.SOFT_BOUNCE) is M.FAILED


def test_efs_retry_success_turns_failed_into_sent() -> None:
    assert _play(EFS, O.RELAYED, O.SOFT_BOUNCE, O.RETRY_SUCCEEDED) is M.SENT


def test_efs_retries_failing_stay_failed() -> None:
    assert _play(EFS, O.RELAYED, O.SOFT_BOUNCE, O.RETRIES_FAILED) is M.FAILED


# --- the hand-off itself ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(FeedbackMode))
def test_a_5xx_at_hand_off_is_a_hard_failure_in_both_modes(mode: FeedbackMode) -> None:
    assert smtp_reply_outcome(550) is O.HARD_BOUNCE
    assert next_status(mode, M.QUEUED, O.HARD_BOUNCE) is M.FAILED


def test_a_4xx_at_hand_off_fails_in_efs_and_stays_queued_in_legacy_until_retries_fail() -> None:
    assert smtp_reply_outcome(452) is O.SOFT_BOUNCE
    assert next_status(EFS, M.QUEUED, O.SOFT_BOUNCE) is M.FAILED
    # Legacy: Delivered % is unchanged by soft failures until the retries fail (seed).
    assert next_status(LEGACY, M.QUEUED, O.SOFT_BOUNCE) is M.QUEUED
    assert next_status(LEGACY, M.QUEUED, relay_outcome(LEGACY, M.QUEUED)) is M.SENT
    assert next_status(LEGACY, M.QUEUED, O.RETRIES_FAILED) is M.FAILED


def test_an_accepted_retry_is_a_success_in_legacy_and_waits_for_the_report_in_efs() -> None:
    assert next_status(LEGACY, M.FAILED, relay_outcome(LEGACY, M.FAILED)) is M.SENT
    assert next_status(EFS, M.FAILED, relay_outcome(EFS, M.FAILED)) is M.FAILED


# --- KPIs -------------------------------------------------------------------------------------


def test_legacy_kpis_start_at_100_and_0() -> None:
    k = kpis(StatusCounts(to_deliver=4, sent=4))
    assert (k.processed, k.delivered_pct, k.bounces_pct) == (4, 100.0, 0.0)


def test_efs_kpis_start_at_0_and_0() -> None:
    k = kpis(StatusCounts(to_deliver=4, pending=4))
    assert (k.processed, k.delivered_pct, k.bounces_pct) == (4, 0.0, 0.0)


def test_rates_use_their_own_denominators() -> None:
    k = kpis(
        StatusCounts(to_deliver=10, queued=2, sent=6, failed=2, unique_opens=3, unique_clicks=1)
    )
    assert k.processed == 8
    assert k.delivered_pct == 75.0
    assert k.bounces_pct == 25.0
    assert k.open_rate == 50.0
    assert k.click_rate == pytest.approx(16.67)


def test_kpis_of_nothing_are_zero() -> None:
    assert kpis(StatusCounts()).delivered_pct == 0.0


# --- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(Action))
def test_each_action_needs_its_role(action: Action) -> None:
    role = REQUIRED_ROLE[action]
    assert missing_role(frozenset(), action) is role
    assert missing_role(frozenset({role}), action) is None


def test_start_deliveries_includes_prepare_deliveries_but_not_approval() -> None:
    assert missing_role({Role.START}, Action.PREPARE_DELIVERY) is None
    assert missing_role({Role.START}, Action.APPROVE_DELIVERY) is Role.APPROVE
    assert missing_role({Role.PREPARE}, Action.CONFIRM_SEND) is Role.START


# --- retries (ACS: five on the first day, an hour apart, then one a day) ----------------------

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
VALIDITY_END = T0 + dt.timedelta(days=3.5)


def _schedule() -> list[dt.datetime]:
    times, now, done = [], T0, 0
    while (at := next_retry_at(T0, now, done, VALIDITY_END)) is not None:
        times.append(at)
        now, done = at, done + 1
    return times


def test_five_retries_on_the_first_day_at_least_an_hour_apart() -> None:
    first_day = [t for t in _schedule() if t < T0 + dt.timedelta(days=1)]
    assert len(first_day) == 5
    gaps = [b - a for a, b in itertools.pairwise([T0, *first_day])]
    assert min(gaps) >= dt.timedelta(hours=1)


def test_then_one_retry_a_day_until_the_validity_period_ends() -> None:
    later = [t for t in _schedule() if t >= T0 + dt.timedelta(days=1)]
    assert later == [T0 + dt.timedelta(days=d) for d in (1, 2, 3)]
    assert all(t < VALIDITY_END for t in _schedule())


def test_no_retry_past_the_validity_period() -> None:
    assert next_retry_at(T0, VALIDITY_END - dt.timedelta(minutes=30), 8, VALIDITY_END) is None


def test_admins_and_approvers_read_logs_but_change_nothing_with_that() -> None:
    assert missing_role({Role.ADMIN}, Action.READ_LOGS) is None
    assert missing_role({Role.APPROVE}, Action.READ_LOGS) is None
    assert missing_role({Role.ADMIN}, Action.CONFIRM_SEND) is Role.START
    assert missing_role({Role.APPROVE}, Action.EDIT_DELIVERY) is Role.PREPARE
