"""Recurrences read in a time zone: cron and RRULE, daylight-saving changes, periods."""

from __future__ import annotations

import datetime as dt

import pytest
from recurring_helpers import NEW_YORK, PARIS, local, utc

from mailcast.domain import Aggregation
from mailcast.recurring.periods import period_end, period_of
from mailcast.recurring.recurrence import RecurrenceError, parse_recurrence


def _between(text: str, zone: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    return parse_recurrence(text, zone, start).between(start, end)


def test_a_cron_expression_gives_weekday_mornings_in_its_zone() -> None:
    # Friday 2026-01-09 to Wednesday 2026-01-14: the weekend is left out; Paris is UTC+1.
    found = _between("0 9 * * MON-FRI", "Europe/Paris", utc(2026, 1, 9), utc(2026, 1, 14, 12))

    assert found == [
        utc(2026, 1, 9, 8),
        utc(2026, 1, 12, 8),
        utc(2026, 1, 13, 8),
        utc(2026, 1, 14, 8),
    ]


def test_an_rrule_gives_monday_mornings_and_gains_the_dtstart_it_was_read_with() -> None:
    recurrence = parse_recurrence(
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", "Europe/Paris", utc(2026, 1, 1, 10, 17, 42)
    )

    assert recurrence.text == (
        "DTSTART:20260101T111700\nRRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"
    )
    found = recurrence.between(utc(2026, 1, 1), utc(2026, 1, 20))
    assert found == [utc(2026, 1, 5, 8), utc(2026, 1, 12, 8), utc(2026, 1, 19, 8)]


def test_an_rrule_with_dtstart_and_count_ends() -> None:
    recurrence = parse_recurrence(
        "DTSTART:20260105T090000\nRRULE:FREQ=DAILY;INTERVAL=2;COUNT=3", "UTC", utc(2026, 1, 1)
    )

    assert recurrence.between(utc(2026, 1, 1), utc(2026, 2, 1)) == [
        utc(2026, 1, 5, 9),
        utc(2026, 1, 7, 9),
        utc(2026, 1, 9, 9),
    ]
    assert recurrence.next_after(utc(2026, 1, 9, 9)) is None


@pytest.mark.parametrize("text", ["0 9 * * *", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0"])
def test_nine_in_paris_stays_nine_local_across_both_changes(text: str) -> None:
    spring = _between(text, "Europe/Paris", utc(2026, 3, 28), utc(2026, 3, 30, 12))
    autumn = _between(text, "Europe/Paris", utc(2026, 10, 24), utc(2026, 10, 26, 12))

    # 29 March: clocks go from UTC+1 to UTC+2; 25 October: back to UTC+1.
    assert spring == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]
    assert autumn == [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]
    assert {t.astimezone(PARIS).hour for t in spring + autumn} == {9}


def test_nine_in_new_york_moves_in_utc_on_its_own_dates() -> None:
    # New York changes on 8 March and 1 November 2026, weeks apart from Europe.
    found = _between("0 9 * * *", "America/New_York", utc(2026, 3, 7), utc(2026, 3, 9, 23))
    autumn = _between("0 9 * * *", "America/New_York", utc(2026, 10, 31), utc(2026, 11, 2, 23))

    assert found == [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]
    assert autumn == [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)]
    assert {t.astimezone(NEW_YORK).hour for t in found + autumn} == {9}


def test_a_time_in_the_spring_gap_runs_at_the_first_valid_instant_after_it() -> None:
    # 02:30 does not exist in Paris on 29 March 2026: clocks jump from 02:00 to 03:00.
    found = _between("30 2 * * *", "Europe/Paris", utc(2026, 3, 28), utc(2026, 3, 30, 12))

    assert found == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]
    assert found[1] == local(PARIS, 2026, 3, 29, 3, 0)


def test_occurrences_falling_in_one_gap_run_once_at_its_end() -> None:
    found = _between("*/30 * * * *", "Europe/Paris", utc(2026, 3, 29, 0, 15), utc(2026, 3, 29, 2))

    # 01:30 local, then 02:00 and 02:30 (missing) and 03:00 are one instant, then 03:30 ...
    assert found == [
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 29, 2),
    ]


def test_a_time_in_the_repeated_hour_runs_once_the_first_time() -> None:
    # 02:30 happens twice in Paris on 25 October 2026 (UTC+2, then UTC+1).
    daily = _between("30 2 * * *", "Europe/Paris", utc(2026, 10, 24), utc(2026, 10, 26, 12))
    half_hourly = _between(
        "*/30 * * * *", "Europe/Paris", utc(2026, 10, 24, 23, 45), utc(2026, 10, 25, 2, 15)
    )

    assert daily == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    # 02:00 and 02:30 CEST run; the same wall times an hour later (CET) do not; 03:00 CET does.
    assert half_hourly == [utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2)]


@pytest.mark.parametrize(
    ("text", "zone", "says"),
    [
        ("0 9 * *", "Europe/Paris", "neither a cron expression"),
        ("every monday", "Europe/Paris", "neither a cron expression"),
        ("0 25 * * *", "Europe/Paris", "neither a cron expression"),
        ("FREQ=SOMETIMES", "Europe/Paris", "the RRULE 'FREQ=SOMETIMES' cannot be read"),
        ("FREQ=DAILY;BYHOUR=31", "Europe/Paris", "cannot be read"),
        ("DTSTART:20260105T090000Z\nRRULE:FREQ=DAILY", "Europe/Paris", "without TZID or Z"),
        ("0 9 * * *", "Europe/Atlantis", "unknown time zone 'Europe/Atlantis'"),
        ("0 9 * * *", "../etc/passwd", "unknown time zone"),
    ],
)
def test_an_unreadable_recurrence_or_zone_is_refused_with_the_reason(
    text: str, zone: str, says: str
) -> None:
    with pytest.raises(RecurrenceError, match=says):
        parse_recurrence(text, zone, utc(2026, 1, 1))


def test_periods_are_the_local_day_iso_week_and_month() -> None:
    # 23:30 UTC on Sunday 29 November 2026 is already Monday 30 November in Paris.
    moment = utc(2026, 11, 29, 23, 30)

    assert period_of(Aggregation.DAY, moment, PARIS) == "2026-11-30"
    assert period_of(Aggregation.WEEK, moment, PARIS) == "2026-W49"
    assert period_of(Aggregation.MONTH, moment, PARIS) == "2026-11"
    # The ISO week of 1 January 2027 belongs to 2026.
    assert period_of(Aggregation.WEEK, utc(2027, 1, 1, 12), PARIS) == "2026-W53"


def test_a_period_ends_at_the_next_local_midnight() -> None:
    assert period_end(Aggregation.DAY, "2026-03-28", PARIS) == utc(2026, 3, 28, 23)
    # The day of the spring change is 23 hours long.
    assert period_end(Aggregation.DAY, "2026-03-29", PARIS) == utc(2026, 3, 29, 22)
    assert period_end(Aggregation.WEEK, "2026-W48", PARIS) == utc(2026, 11, 29, 23)
    assert period_end(Aggregation.MONTH, "2026-12", PARIS) == utc(2026, 12, 31, 23)
    assert period_end(Aggregation.MONTH, "2026-10", NEW_YORK) == utc(2026, 11, 1, 4)
