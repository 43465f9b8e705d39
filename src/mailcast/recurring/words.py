"""A recurrence in words ("every Monday at 09:00, Europe/Paris") and its next dates.

Marketers read the words, not the cron or RRULE text: the common shapes (days of the week,
days of the month, a few times a day, an interval) are written out; anything else is quoted
as written, so that the words never claim more than they know.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from mailcast.recurring.recurrence import RecurrenceError, parse_recurrence

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CRON_DAYS = {name[:3].upper(): i for i, name in enumerate(DAYS)} | {"0": 6, "7": 6}
_CRON_DAYS |= {str(n): n - 1 for n in range(1, 7)}
_RRULE_DAYS = {name[:2].upper(): i for i, name in enumerate(DAYS)}
_MONTHS = tuple(calendar.month_name)[1:]  # English whatever the locale: "C" names
_NTH = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}


@dataclass(frozen=True)
class Preview:
    words: str  # "every Monday at 09:00, Europe/Paris"
    dates: list[dt.datetime]  # the next occurrences, in UTC


def preview(text: str, timezone: str, now: dt.datetime, count: int = 5) -> Preview:
    """The words and the next `count` occurrences after `now`; RecurrenceError if unreadable."""
    recurrence = parse_recurrence(text, timezone, now)
    dates: list[dt.datetime] = []
    moment = recurrence.next_after(now)
    while moment is not None and len(dates) < count:
        dates.append(moment)
        moment = recurrence.next_after(moment)
    return Preview(describe(recurrence.text, timezone), dates)


def describe(text: str, timezone: str) -> str:
    """The recurrence in words, followed by its time zone."""
    try:
        words = _rrule(text) if "FREQ=" in text.upper() else _cron(text.split())
    except (KeyError, ValueError, IndexError):
        words = None
    return f"{words or f'following the rule “{text.strip()}”'}, {timezone}"


# --- cron -----------------------------------------------------------------------------------


def _cron(fields: list[str]) -> str | None:
    if len(fields) != 5:
        return None
    minute, hour, day, month, weekday = fields
    if minute.startswith("*/") and (hour, day, month, weekday) == ("*", "*", "*", "*"):
        return f"every {int(minute[2:])} minutes"
    if hour == "*" and minute.isdigit() and (day, month, weekday) == ("*", "*", "*"):
        return f"every hour at {int(minute)} past the hour"
    at = _times([int(h) for h in hour.split(",")], [int(m) for m in minute.split(",")])
    months = "" if month == "*" else " in " + _and([_month(m) for m in month.split(",")])
    if day == "*" and weekday == "*":
        return f"every day{months} at {at}"
    if day == "*":
        return f"every {_weekdays(weekday)}{months} at {at}"
    if weekday == "*":
        days = _and([_ordinal(int(d)) for d in day.split(",")])
        where = "of every month" if month == "*" else f"of {months[4:]}"
        return f"on the {days} {where} at {at}"
    return None  # cron reads a day of the month AND a weekday as either: too subtle for words


def _weekdays(field: str) -> str:
    parts = []
    for part in field.upper().split(","):
        first, _, last = part.partition("-")
        parts.append(DAYS[_CRON_DAYS[first]] + (f" to {DAYS[_CRON_DAYS[last]]}" if last else ""))
    return _and(parts)


def _month(value: str) -> str:
    return _MONTHS[int(value) - 1] if value.isdigit() else _MONTHS[_month_index(value)]


def _month_index(name: str) -> int:
    return [m[:3].upper() for m in _MONTHS].index(name.upper())


# --- RRULE ----------------------------------------------------------------------------------


def _rrule(text: str) -> str | None:
    parts: dict[str, str] = {}
    start = None
    for line in text.strip().splitlines():
        name, _, value = line.strip().rpartition(":")
        if name.upper().startswith("DTSTART"):
            start = dt.datetime.strptime(value[:15], "%Y%m%dT%H%M%S")
            continue
        if name.upper() not in ("", "RRULE"):
            return None  # EXDATE, RDATE and the like: quoted as written
        parts |= dict(item.split("=", 1) for item in value.upper().split(";") if item)
    hours = [int(h) for h in parts.get("BYHOUR", str(start.hour if start else 0)).split(",")]
    minutes = [int(m) for m in parts.get("BYMINUTE", str(start.minute if start else 0)).split(",")]
    every = int(parts.get("INTERVAL", "1"))
    when = _rrule_days(parts, every, start)
    if when is None:
        return None
    limit = ""
    if "COUNT" in parts:
        limit = f", {int(parts['COUNT'])} times"
    elif "UNTIL" in parts:
        limit = f", until {parts['UNTIL'][:4]}-{parts['UNTIL'][4:6]}-{parts['UNTIL'][6:8]}"
    return f"{when} at {_times(hours, minutes)}{limit}"


def _rrule_days(parts: dict[str, str], every: int, start: dt.datetime | None) -> str | None:
    frequency, byday = parts["FREQ"], parts.get("BYDAY")
    if frequency == "DAILY" and byday is None:
        return "every day" if every == 1 else f"every {every} days"
    if frequency in ("DAILY", "WEEKLY"):
        days = byday.split(",") if byday else [DAYS[start.weekday()][:2].upper()] if start else []
        names = _and([DAYS[_RRULE_DAYS[d]] for d in days])
        return f"every {names}" if every == 1 else f"every {every} weeks on {names}"
    if frequency == "MONTHLY":
        months = "every month" if every == 1 else f"every {every} months"
        if "BYMONTHDAY" in parts:
            ordinals = _and([_ordinal(int(d)) for d in parts["BYMONTHDAY"].split(",")])
            return f"on the {ordinals} of {months}"
        if byday and byday[:-2].lstrip("+-").isdigit():
            nth, day = int(byday[:-2]), DAYS[_RRULE_DAYS[byday[-2:]]]
            return f"on the {_NTH[nth]} {day} of {months}"
        if byday is None and start is not None:
            return f"on the {_ordinal(start.day)} of {months}"
    return None


# --- words ----------------------------------------------------------------------------------


def _times(hours: list[int], minutes: list[int]) -> str:
    return _and([f"{h:02d}:{m:02d}" for h in sorted(hours) for m in sorted(minutes)])


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _ordinal(day: int) -> str:
    if day < 0:
        return "last day" if day == -1 else f"{_ordinal(-day)} last day"
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


__all__ = ["Preview", "RecurrenceError", "describe", "preview"]
