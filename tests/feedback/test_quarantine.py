"""The quarantine rules of SPEC §5 (ACS), one test per rule, on the injected clock."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import RowMapping

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import (
    AddressNote,
    AddressStatus,
    ExclusionReason,
    FailureReason,
    FailureType,
    FeedbackMode,
    Role,
)
from mailcast.feedback.quarantine import (
    QuarantineError,
    ReleaseRequest,
    list_addresses,
    note_all,
    note_complaint,
    note_failure,
    note_success,
    release_addresses,
    release_due,
)
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.store import addresses as address_store
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.users.service import PermissionDenied, User, add_user

HARD, SOFT, IGNORED = FailureType.HARD, FailureType.SOFT, FailureType.IGNORED
DAY, HOUR, MINUTE = dt.timedelta(days=1), dt.timedelta(hours=1), dt.timedelta(minutes=1)
Q, ERRONEOUS, VALID = AddressStatus.QUARANTINE, AddressStatus.ERRONEOUS, AddressStatus.VALID


@pytest.fixture
def ada(ctx: Context) -> User:
    return add_user(ctx.db, "ada", [Role.ADMIN], None, ctx.clock)


def fail(
    ctx: Context,
    address: str,
    failure_type: FailureType = SOFT,
    reason: FailureReason | None = FailureReason.UNREACHABLE,
    detail: str = "",
) -> None:
    with ctx.db.write() as conn:
        note_failure(conn, address, failure_type, reason, ctx.clock.now(), detail)


def succeed(ctx: Context, address: str) -> None:
    with ctx.db.write() as conn:
        note_success(conn, address, ctx.clock.now())


def complain(ctx: Context, address: str) -> None:
    with ctx.db.write() as conn:
        note_complaint(conn, address, ctx.clock.now(), "arf: abuse")


def release_job(ctx: Context) -> int:
    with ctx.db.write() as conn:
        return release_due(conn, ctx.clock.now())


def state(ctx: Context, address: str) -> RowMapping | None:
    with ctx.db.read() as conn:
        return address_store.get_address_state(conn, address)


def status(ctx: Context, address: str) -> tuple[str, int] | None:
    row = state(ctx, address)
    return None if row is None else (row["status"], row["error_count"])


def soft_errors(ctx: Context, clock: ManualClock, address: str, count: int) -> None:
    """`count` soft errors, each a day after the last: every one counts."""
    for n in range(count):
        if n:
            clock.advance(DAY)
        fail(ctx, address)


# --- Counting and quarantine ----------------------------------------------------------------


def test_a_hard_failure_quarantines_the_address_at_once_and_keeps_the_reason(
    ctx: Context,
) -> None:
    fail(ctx, "Bob@Example.COM", HARD, FailureReason.USER_UNKNOWN, "550 5.1.1 User unknown")

    row = state(ctx, "bob@example.com")  # the key is the case-folded address
    assert row is not None
    assert (row["status"], row["failure_reason"]) == (Q, FailureReason.USER_UNKNOWN)
    assert row["detail"] == "550 5.1.1 User unknown"
    assert row["status_changed_at"] == ctx.clock.now()


def test_soft_errors_less_than_a_day_apart_count_once(ctx: Context, clock: ManualClock) -> None:
    fail(ctx, "a@example.com")
    assert status(ctx, "a@example.com") == (ERRONEOUS, 1)

    clock.advance(DAY - MINUTE)
    fail(ctx, "a@example.com")
    assert status(ctx, "a@example.com") == (ERRONEOUS, 1)

    clock.advance(MINUTE)  # a full day after the counted one
    fail(ctx, "a@example.com")
    assert status(ctx, "a@example.com") == (ERRONEOUS, 2)


def test_the_fifth_counted_soft_error_quarantines_the_address(
    ctx: Context, clock: ManualClock
) -> None:
    soft_errors(ctx, clock, "a@example.com", 4)
    assert status(ctx, "a@example.com") == (ERRONEOUS, 4)

    clock.advance(DAY)
    fail(ctx, "a@example.com", SOFT, FailureReason.MAILBOX_FULL, "452 4.2.2 Mailbox full")

    row = state(ctx, "a@example.com")
    assert row is not None
    assert (row["status"], row["error_count"]) == (Q, 5)
    assert row["failure_reason"] == FailureReason.MAILBOX_FULL


def test_the_counter_resets_when_the_last_significant_error_is_older_than_ten_days(
    ctx: Context, clock: ManualClock
) -> None:
    soft_errors(ctx, clock, "late@example.com", 4)
    soft_errors(ctx, clock, "soon@example.com", 4)

    clock.advance(10 * DAY - MINUTE)
    fail(ctx, "soon@example.com")
    clock.advance(MINUTE)
    fail(ctx, "late@example.com")

    assert status(ctx, "soon@example.com") == (Q, 5)
    assert status(ctx, "late@example.com") == (ERRONEOUS, 1)


def test_a_successful_delivery_resets_the_address_to_valid(
    ctx: Context, clock: ManualClock
) -> None:
    soft_errors(ctx, clock, "soft@example.com", 3)
    fail(ctx, "hard@example.com", HARD, FailureReason.USER_UNKNOWN)

    clock.advance(HOUR)
    succeed(ctx, "soft@example.com")
    succeed(ctx, "hard@example.com")
    assert status(ctx, "soft@example.com") == (VALID, 0)
    assert status(ctx, "hard@example.com") == (VALID, 0)

    # Counting starts afresh: the next soft error within the day is the first one.
    clock.advance(HOUR)
    fail(ctx, "soft@example.com")
    assert status(ctx, "soft@example.com") == (ERRONEOUS, 1)


def test_a_success_never_lifts_the_denylist(ctx: Context, clock: ManualClock) -> None:
    complain(ctx, "a@example.com")
    clock.advance(HOUR)
    succeed(ctx, "a@example.com")
    fail(ctx, "a@example.com", HARD, FailureReason.USER_UNKNOWN)

    assert status(ctx, "a@example.com") == (AddressStatus.DENYLIST, 0)


def test_a_success_reported_from_before_the_last_error_does_not_lift_it(
    ctx: Context, clock: ManualClock
) -> None:
    fail(ctx, "a@example.com", HARD, FailureReason.USER_UNKNOWN)
    with ctx.db.write() as conn:
        note_success(conn, "a@example.com", clock.now() - HOUR)

    assert status(ctx, "a@example.com") == (Q, 1)


def test_notes_of_one_batch_are_weighed_in_time_order(ctx: Context, clock: ManualClock) -> None:
    now = clock.now()
    with ctx.db.write() as conn:
        note_all(
            conn,
            [
                AddressNote.success("a@example.com", now + 2 * HOUR),
                AddressNote.failure("a@example.com", HARD, FailureReason.USER_UNKNOWN, now),
                AddressNote.failure("b@example.com", SOFT, FailureReason.UNREACHABLE, now),
                AddressNote.failure("b@example.com", HARD, FailureReason.USER_UNKNOWN, now + HOUR),
            ],
        )

    assert status(ctx, "a@example.com") == (VALID, 0)
    assert status(ctx, "b@example.com") == (Q, 2)


def test_ignored_failures_change_nothing(ctx: Context, clock: ManualClock) -> None:
    fail(ctx, "new@example.com", IGNORED, FailureReason.ERROR_IGNORED)
    fail(ctx, "known@example.com")
    before = state(ctx, "known@example.com")

    clock.advance(2 * DAY)
    fail(ctx, "known@example.com", IGNORED, FailureReason.ERROR_IGNORED)

    assert state(ctx, "new@example.com") is None
    assert state(ctx, "known@example.com") == before


def test_an_allowlisted_address_is_never_quarantined_by_feedback(ctx: Context) -> None:
    with ctx.db.write() as conn:
        address_store.set_address_status(
            conn, "seed@example.com", AddressStatus.ALLOWLIST, ctx.clock.now()
        )
    fail(ctx, "seed@example.com", HARD, FailureReason.USER_UNKNOWN)

    assert status(ctx, "seed@example.com") == (AddressStatus.ALLOWLIST, 0)


def test_a_complaint_puts_the_address_on_the_denylist(ctx: Context) -> None:
    fail(ctx, "q@example.com", HARD, FailureReason.USER_UNKNOWN)
    complain(ctx, "q@example.com")
    complain(ctx, "fresh@example.com")

    for address in ("q@example.com", "fresh@example.com"):
        row = state(ctx, address)
        assert row is not None
        assert (row["status"], row["detail"]) == (AddressStatus.DENYLIST, "arf: abuse")


def test_a_note_about_something_that_is_not_an_address_is_refused_and_writes_nothing(
    ctx: Context,
) -> None:
    with ctx.db.write() as conn, pytest.raises(QuarantineError, match="not an email address"):
        note_all(
            conn,
            [
                AddressNote.failure("ok@example.com", HARD, None, ctx.clock.now()),
                AddressNote.failure("", HARD, None, ctx.clock.now()),
            ],
        )
    assert state(ctx, "ok@example.com") is None


def test_two_writers_weighing_one_new_address_do_not_overwrite_each_other(
    ctx: Context,
) -> None:
    """A soft failure recorded while a hard one is not yet committed waits for it."""
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        note_failure(conn, "a@example.com", HARD, FailureReason.USER_UNKNOWN, now)
        other = threading.Thread(target=fail, args=(ctx, "a@example.com", SOFT))
        other.start()
        other.join(timeout=0.3)  # it cannot finish before this transaction commits
    other.join()

    assert status(ctx, "a@example.com") == (Q, 1)


# --- Automatic releases ---------------------------------------------------------------------


def test_erroneous_is_released_after_ten_days_without_a_soft_bounce(
    ctx: Context, clock: ManualClock
) -> None:
    soft_errors(ctx, clock, "a@example.com", 3)

    clock.advance(10 * DAY - MINUTE)
    assert release_job(ctx) == 0
    assert status(ctx, "a@example.com") == (ERRONEOUS, 3)

    clock.advance(MINUTE)
    assert release_job(ctx) == 1
    assert status(ctx, "a@example.com") == (VALID, 0)


def test_a_mailbox_full_quarantine_is_released_after_thirty_days(
    ctx: Context, clock: ManualClock
) -> None:
    fail(ctx, "full@example.com", HARD, FailureReason.MAILBOX_FULL, "552 5.2.2 over quota")

    clock.advance(30 * DAY - MINUTE)
    assert release_job(ctx) == 0
    assert status(ctx, "full@example.com") == (Q, 1)

    clock.advance(MINUTE)
    assert release_job(ctx) == 1
    assert status(ctx, "full@example.com") == (VALID, 0)


def test_other_quarantine_and_the_denylist_are_never_released_automatically(
    ctx: Context, clock: ManualClock
) -> None:
    fail(ctx, "unknown@example.com", HARD, FailureReason.USER_UNKNOWN)
    soft_errors(ctx, clock, "unreachable@example.com", 5)
    complain(ctx, "complained@example.com")

    clock.advance(1000 * DAY)
    assert release_job(ctx) == 0

    assert status(ctx, "unknown@example.com") == (Q, 1)
    assert status(ctx, "unreachable@example.com") == (Q, 5)
    assert status(ctx, "complained@example.com") == (AddressStatus.DENYLIST, 0)


# --- Admin releases -------------------------------------------------------------------------


def test_an_admin_releases_one_address(ctx: Context, ada: User) -> None:
    fail(ctx, "a@example.com", HARD, FailureReason.USER_UNKNOWN)
    fail(ctx, "b@example.com", HARD, FailureReason.USER_UNKNOWN)

    result = release_addresses(ctx, ada, ReleaseRequest(addresses=("A@example.com",)))

    assert result.released == ["a@example.com"]
    row = state(ctx, "a@example.com")
    assert row is not None
    assert (row["status"], row["error_count"], row["detail"]) == (VALID, 0, "released by ada")
    assert status(ctx, "b@example.com") == (Q, 1)


def test_an_admin_releases_in_bulk_by_list_domain_reason_or_since_a_date(
    ctx: Context, clock: ManualClock, ada: User
) -> None:
    for address in ("a@outage.example", "b@outage.example", "c@other.example"):
        fail(ctx, address, HARD, FailureReason.UNREACHABLE)
    fail(ctx, "d@other.example", HARD, FailureReason.USER_UNKNOWN)
    clock.advance(DAY)
    outage_began = clock.now()
    fail(ctx, "e@other.example", HARD, FailureReason.USER_UNKNOWN)
    fail(ctx, "f@other.example", HARD, FailureReason.USER_UNKNOWN)
    complain(ctx, "g@outage.example")

    def release(**request: object) -> list[str]:
        return release_addresses(ctx, ada, ReleaseRequest(**request)).released  # type: ignore[arg-type]

    # The denylist is the recipients' wish: bulk releases leave it alone.
    assert release(domain="OUTAGE.example") == ["a@outage.example", "b@outage.example"]
    assert release(reason=FailureReason.UNREACHABLE) == ["c@other.example"]
    assert release(since=outage_began) == ["e@other.example", "f@other.example"]
    assert release(addresses=("d@other.example", "nobody@example.com")) == ["d@other.example"]
    assert status(ctx, "g@outage.example") == (AddressStatus.DENYLIST, 0)


def test_an_admin_releases_everything_quarantined_at_once(ctx: Context, ada: User) -> None:
    for n in range(30):
        fail(ctx, f"u{n}@example.com", HARD, FailureReason.USER_UNKNOWN)
    fail(ctx, "erroneous@example.com")

    result = release_addresses(ctx, ada, ReleaseRequest(everything=True))

    assert len(result.released) == 31
    assert list_addresses(ctx, ada, [Q, ERRONEOUS]) == []


def test_releasing_needs_the_admin_role_and_a_refusal_changes_nothing(
    ctx: Context, marie: User, sam: User
) -> None:
    fail(ctx, "a@example.com", HARD, FailureReason.USER_UNKNOWN)

    for user in (marie, sam):
        with pytest.raises(PermissionDenied, match="'admin' is missing"):
            release_addresses(ctx, user, ReleaseRequest(everything=True))
        with pytest.raises(PermissionDenied, match="'admin' is missing"):
            list_addresses(ctx, user)

    assert status(ctx, "a@example.com") == (Q, 1)


def test_a_release_naming_a_bad_address_is_refused_and_releases_nothing(
    ctx: Context, ada: User
) -> None:
    fail(ctx, "a@example.com", HARD, FailureReason.USER_UNKNOWN)

    with pytest.raises(QuarantineError, match="not-an-address"):
        release_addresses(ctx, ada, ReleaseRequest(addresses=("a@example.com", "not-an-address")))
    with pytest.raises(QuarantineError, match="nothing to release"):
        release_addresses(ctx, ada, ReleaseRequest())

    assert status(ctx, "a@example.com") == (Q, 1)


def test_a_failure_reported_from_before_a_release_does_not_quarantine_again(
    ctx: Context, clock: ManualClock, ada: User
) -> None:
    failed_at = clock.now()
    fail(ctx, "a@outage.example", HARD, FailureReason.UNREACHABLE)
    clock.advance(HOUR)
    release_addresses(ctx, ada, ReleaseRequest(domain="outage.example"))

    # The outage's bounces keep arriving after the release.
    with ctx.db.write() as conn:
        note_failure(conn, "a@outage.example", HARD, FailureReason.UNREACHABLE, failed_at)

    assert status(ctx, "a@outage.example") == (VALID, 0)


# --- Preparation and the send engine --------------------------------------------------------


def _exclusions(ctx: Context, delivery_id: int) -> dict[str, str]:
    with ctx.db.read() as conn:
        return {r["address"]: r["reason"] for r in delivery_store.exclusion_log(conn, delivery_id)}


def _targeted(ctx: Context, delivery_id: int) -> set[str]:
    with ctx.db.read() as conn:
        return {r["address"] for r in message_store.sending_log(conn, delivery_id, limit=1000)}


def test_quarantined_and_denylisted_addresses_are_excluded_until_released(
    ctx: Context, scenario: Scenario, clock: ManualClock, ada: User
) -> None:
    scenario.audience(["Quar@Example.com", "deny@example.com", "ok@example.com"])
    fail(ctx, "Quar@Example.com", HARD, FailureReason.USER_UNKNOWN)
    complain(ctx, "deny@example.com")

    first = scenario.prepared()
    assert _exclusions(ctx, first) == {
        "Quar@example.com": ExclusionReason.QUARANTINED,
        "deny@example.com": ExclusionReason.DENYLISTED,
    }
    assert _targeted(ctx, first) == {"ok@example.com"}

    release_addresses(ctx, ada, ReleaseRequest(addresses=("quar@example.com",)))
    second = scenario.prepared()
    assert _exclusions(ctx, second) == {"deny@example.com": ExclusionReason.DENYLISTED}
    assert _targeted(ctx, second) == {"Quar@example.com", "ok@example.com"}


@pytest.mark.parametrize("mode", [FeedbackMode.LEGACY, FeedbackMode.EFS])
def test_hand_off_refusals_quarantine_and_count_and_an_acceptance_is_no_success(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock, mode: FeedbackMode
) -> None:
    # The sandbox refuses unknown* with 550 5.1.1 and defers full* with 452 4.2.2.
    unknown = [f"unknown{n}@example.com" for n in range(30)]
    scenario.audience([*unknown, "full@example.com", "ok@example.com"])
    scenario.sending(feedback_mode=mode)
    send_until_idle(ctx)

    for address in unknown:
        assert status(ctx, address) == (Q, 1)
    full = state(ctx, "full@example.com")
    assert full is not None
    assert (full["status"], full["error_count"]) == (ERRONEOUS, 1)
    assert full["failure_reason"] == FailureReason.MAILBOX_FULL
    assert state(ctx, "ok@example.com") is None

    mta.handler.rules = lambda address: None  # the mailbox has room again
    clock.advance(HOUR)
    send_until_idle(ctx)
    # Relayed again, but the relay's acceptance is not a reported delivery.
    assert mta.recipients_counter()["full@example.com"] == 1
    assert status(ctx, "full@example.com") == (ERRONEOUS, 1)
