"""Recurrences (cron or RRULE) read in an IANA time zone, and their occurrences in UTC.

A recurrence is evaluated on the local wall clock, so "9:00 every day in Europe/Paris" stays
9:00 local across daylight-saving changes (its UTC time moves). Two wall times need a rule:
- a local time that does not exist (the spring-forward gap) runs at the first valid instant
  after the gap, e.g. 02:30 on the day Paris jumps from 02:00 to 03:00 runs at 03:00;
  occurrences that fall on the same instant run once;
- a local time that exists twice (the fall-back hour) runs once, the first time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter
from dateutil.rrule import rruleset, rrulestr

from mailcast import clock

# Wall times that fall in one gap map to one instant; give up past this many in a row.
_MAX_CANDIDATES = 10_000


class RecurrenceError(ValueError):
    """A recurrence or time zone that cannot be read; the message says what is wrong."""


class _LocalRule(Protocol):
    def after(self, local: dt.datetime) -> dt.datetime | None:
        """The first local wall time strictly after `local` (naive), or None when it ended."""


@dataclass(frozen=True)
class _Cron:
    expression: str

    def after(self, local: dt.datetime) -> dt.datetime | None:
        try:
            return croniter(self.expression, local).get_next(dt.datetime)
        except CroniterBadDateError:
            return None  # a date that never comes, such as 30 February


@dataclass(frozen=True)
class _RRule:
    rules: rruleset

    def after(self, local: dt.datetime) -> dt.datetime | None:
        return self.rules.after(local, inc=False)


@dataclass(frozen=True)
class Recurrence:
    """A parsed recurrence; `text` is what to store (an RRULE gains its DTSTART)."""

    text: str
    zone: ZoneInfo
    rule: _LocalRule

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """The first occurrence strictly after `after`, in UTC; None when the rule has ended."""
        candidate = self.rule.after(_local(after, self.zone))
        for _ in range(_MAX_CANDIDATES):
            if candidate is None:
                return None
            moment = to_utc(candidate, self.zone)
            if moment > after:
                return moment
            candidate = self.rule.after(candidate)
        raise RecurrenceError(f"the recurrence {self.text!r} finds no next occurrence")

    def between(self, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        """Occurrences strictly after `start` up to `end` included, in UTC."""
        found: list[dt.datetime] = []
        moment = self.next_after(start)
        while moment is not None and moment <= end:
            found.append(moment)
            moment = self.next_after(moment)
        return found


def zone_named(name: str) -> ZoneInfo:
    try:
        return clock.zone_named(name)
    except clock.UnknownTimeZone as exc:
        raise RecurrenceError(str(exc)) from exc


def parse_recurrence(text: str, timezone: str, start: dt.datetime) -> Recurrence:
    """Read a cron expression or an RRULE in the zone; an RRULE without DTSTART starts at
    `start` (UTC, to the minute)."""
    zone = zone_named(timezone)
    text = text.strip()
    if "FREQ=" in text.upper():
        stored = _with_dtstart(_rrule_lines(text), _local(start, zone))
        return Recurrence(stored, zone, _RRule(_read_rrule(stored, text)))
    if not croniter.is_valid(text):
        raise RecurrenceError(
            f"{text!r} is neither a cron expression (such as '0 9 * * MON-FRI') "
            "nor an RRULE (such as 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0')"
        )
    return Recurrence(text, zone, _Cron(text))


def _rrule_lines(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(line if ":" in line else f"RRULE:{line}" for line in lines)


def _with_dtstart(text: str, start: dt.datetime) -> str:
    if "DTSTART" in text.upper():
        return text
    return f"DTSTART:{start.replace(second=0, microsecond=0):%Y%m%dT%H%M%S}\n{text}"


def _read_rrule(text: str, given: str) -> rruleset:
    try:
        rules = rrulestr(text, forceset=True)
        first = next(iter(rules), None)
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"the RRULE {given!r} cannot be read: {exc}") from exc
    if first is not None and first.tzinfo is not None:
        raise RecurrenceError(
            "write DTSTART in local time without TZID or Z: the recurrence is read in the "
            "recurring delivery's time zone"
        )
    assert isinstance(rules, rruleset)
    return rules


def _local(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A local wall time in UTC: the first of a repeated time, the gap's end for a missing one."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    if _local(first, zone) == local:
        return first
    return _gap_end(local, zone)


def _gap_end(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The instant the clocks jumped over `local`, found to the second between the two
    readings of the missing time (fold=1 reads it with the offset before the jump)."""
    before = local.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    after = local.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    offset_before = before.astimezone(zone).utcoffset()
    while after - before > dt.timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == offset_before:
            before = middle
        else:
            after = middle
    return after.replace(microsecond=0)
