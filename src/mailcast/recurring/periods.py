"""Aggregation periods: the local day, ISO week or month an occurrence reports into, and its end."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from mailcast.domain import Aggregation
from mailcast.recurring.recurrence import to_utc


def period_of(aggregation: Aggregation, moment: dt.datetime, zone: ZoneInfo) -> str:
    """The period key of a moment in the zone: "2026-11-23", "2026-W48" or "2026-11"."""
    local = moment.astimezone(zone)
    if aggregation is Aggregation.DAY:
        return f"{local:%Y-%m-%d}"
    if aggregation is Aggregation.WEEK:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if aggregation is Aggregation.MONTH:
        return f"{local:%Y-%m}"
    raise ValueError("occurrences without an aggregation period report alone")


def period_end(aggregation: Aggregation, period: str, zone: ZoneInfo) -> dt.datetime:
    """When the period is over, in UTC: the local midnight that starts the next one."""
    if aggregation is Aggregation.DAY:
        next_start = dt.date.fromisoformat(period) + dt.timedelta(days=1)
    elif aggregation is Aggregation.WEEK:
        iso_year, week = (int(part) for part in period.split("-W"))
        next_start = dt.date.fromisocalendar(iso_year, week, 1) + dt.timedelta(weeks=1)
    elif aggregation is Aggregation.MONTH:
        year, month = (int(part) for part in period.split("-"))
        next_start = dt.date(year + month // 12, month % 12 + 1, 1)
    else:
        raise ValueError("occurrences without an aggregation period report alone")
    return to_utc(dt.datetime.combine(next_start, dt.time()), zone)
