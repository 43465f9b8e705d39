"""A delivery's marketer reports: clicks per link, who clicked or opened, bounces, opt-outs, trend.

Every figure is read from the logs in one snapshot, so that the page's numbers agree with one
another: unique clicks in the cards, rows of "who clicked", the links' unique clicks. Rates use
the Deployment block's denominators (domain.kpis): opens and clicks over sent-status messages.
Reading any of it needs the `read_logs` action's role.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import Connection, RowMapping

from mailcast.context import Context
from mailcast.domain import Action, EventKind, Kpis, StatusCounts, kpis
from mailcast.stats.report import FailureRow
from mailcast.store import deliveries as delivery_store
from mailcast.store import reports as store
from mailcast.store import stats as stats_store
from mailcast.users.service import User, authorize

READERS_SHOWN = 100  # who opened or clicked, on the page; the CSV export has everyone
# The series' scale: per minute while the send is fresh, per hour for three days, then per day.
MINUTES_UNTIL = dt.timedelta(hours=2)
HOURS_UNTIL = dt.timedelta(days=3)
MAX_DAYS = 92


class TimeUnit(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def step(self) -> dt.timedelta:
        return {"minute": dt.timedelta(minutes=1), "hour": dt.timedelta(hours=1)}.get(
            self.value, dt.timedelta(days=1)
        )


def time_unit(start: dt.datetime | None, now: dt.datetime) -> TimeUnit:
    """The series' bucket for a send that began at `start`, seen at `now`."""
    age = now - start if start is not None else dt.timedelta(0)
    if age <= MINUTES_UNTIL:
        return TimeUnit.MINUTE
    return TimeUnit.HOUR if age <= HOURS_UNTIL else TimeUnit.DAY


@dataclass(frozen=True)
class Bucket:
    start: dt.datetime
    opens: int
    clicks: int


@dataclass(frozen=True)
class Series:
    unit: TimeUnit
    buckets: list[Bucket]

    @property
    def empty(self) -> bool:
        return not any(b.opens or b.clicks for b in self.buckets)


@dataclass(frozen=True)
class LinkRow:
    url: str
    unique_clicks: int
    total_clicks: int
    rate: float  # unique clicks over sent-status messages, as the click-through rate


@dataclass(frozen=True)
class DomainBounces:
    domain: str
    messages: int
    failed: int
    hard: int
    soft: int


@dataclass(frozen=True)
class Reports:
    delivery_id: int
    name: str
    counts: StatusCounts
    kpis: Kpis
    people_only: bool  # machine opens and clicks left out of every figure
    links: list[LinkRow]
    clicked: list[RowMapping]  # the first READERS_SHOWN of who clicked
    opened: list[RowMapping]
    failures: list[FailureRow]
    domains: list[DomainBounces]
    unsubscribed: int
    complained: int
    series: Series
    at: dt.datetime
    opt_outs: list[RowMapping] = field(default_factory=list)
    link: str | None = None  # "who clicked" shows who clicked this link only

    @property
    def clickers(self) -> int:
        """How many clicked (the link chosen, or any): the size of "who clicked" in all."""
        if self.link is None:
            return self.counts.unique_clicks
        return next((x.unique_clicks for x in self.links if x.url == self.link), 0)


def delivery_reports(
    ctx: Context, user: User, delivery_id: int, link: str | None = None
) -> Reports:
    """Every report of the delivery, from one snapshot of the logs; `link`: who clicked it."""
    authorize(user, Action.READ_LOGS)
    people = people_only(ctx)
    now = ctx.clock.now()
    with ctx.db.read() as conn:
        store.same_snapshot(conn)
        delivery = delivery_store.get_delivery(conn, delivery_id)  # NotFound: 404
        counts = recounted(conn, delivery_id, people)
        links = store.link_clicks(conn, delivery_id, people_only=people)
        if link is None:
            clicked = store.readers_page(
                conn, delivery_id, EventKind.CLICKED, people_only=people, limit=READERS_SHOWN
            )
        else:
            clicked = store.link_clickers_page(
                conn, delivery_id, link, people_only=people, limit=READERS_SHOWN
            )
        opened = store.readers_page(
            conn, delivery_id, EventKind.OPENED, people_only=people, limit=READERS_SHOWN
        )
        failures = stats_store.failures_by_reason(conn, delivery_id)
        domains = store.bounces_by_domain(conn, delivery_id)
        opt_outs = store.opt_outs(conn, delivery_id)
        opt_out_rows = store.event_log_page(
            conn, delivery_id, (EventKind.UNSUBSCRIBED, EventKind.COMPLAINED), limit=READERS_SHOWN
        )
        trend = series(conn, delivery_id, now, people)
    return Reports(
        delivery_id=delivery_id,
        name=delivery["name"],
        counts=counts,
        kpis=kpis(counts),
        people_only=people,
        links=[_link(row, counts.sent) for row in links],
        clicked=clicked,
        opened=opened,
        failures=[FailureRow(*row) for row in sorted(failures, key=lambda r: (-r[2], r[0], r[1]))],
        domains=[DomainBounces(**row) for row in domains],
        unsubscribed=opt_outs[EventKind.UNSUBSCRIBED],
        complained=opt_outs[EventKind.COMPLAINED],
        series=trend,
        at=now,
        opt_outs=opt_out_rows,
        link=link,
    )


def recounted(conn: Connection, delivery_id: int, people: bool) -> StatusCounts:
    """The status counts and unique opens and clicks, recounted from the logs."""
    found = stats_store.recount(conn, delivery_id, exclude_machine=people)
    return StatusCounts(
        **{name: found[name] for name in ("to_deliver", *stats_store.STATUS_COUNTERS)},
        unique_opens=found["unique_opens"],
        unique_clicks=found["unique_clicks"],
    )


def series(conn: Connection, delivery_id: int, now: dt.datetime, people: bool) -> Series:
    """Opens and clicks per minute, hour or day (time_unit), from the first hand-off to now."""
    start = store.first_tracked_at(conn, delivery_id)
    unit = time_unit(start, now)
    rows = store.tracking_series(conn, delivery_id, unit.value, people_only=people)
    found: dict[dt.datetime, dict[str, int]] = defaultdict(dict)
    for text, kind, n in rows:
        found[_parse(text)][kind] = n
    if start is None and not found:
        return Series(unit, [])
    first = min([*found, *([_floor(start, unit)] if start else [])])
    last = max([*found, _floor(now, unit)])
    if unit is TimeUnit.DAY:
        last = min(last, first + MAX_DAYS * unit.step)
    buckets, moment = [], first
    while moment <= last:
        hits = found.get(moment, {})
        buckets.append(
            Bucket(moment, hits.get(EventKind.OPENED, 0), hits.get(EventKind.CLICKED, 0))
        )
        moment += unit.step
    return Series(unit, buckets)


def people_only(ctx: Context) -> bool:
    """Whether machine opens and clicks are left out of the rates (tracking settings)."""
    return ctx.settings.tracking.exclude_machine_events


def _link(row: RowMapping, sent: int) -> LinkRow:
    unique = int(row["unique_clicks"])
    rate = round(100.0 * unique / sent, 2) if sent else 0.0
    return LinkRow(row["url"] or "(no URL)", unique, int(row["total_clicks"]), rate)


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _floor(moment: dt.datetime, unit: TimeUnit) -> dt.datetime:
    moment = moment.astimezone(dt.UTC).replace(second=0, microsecond=0)
    if unit is not TimeUnit.MINUTE:
        moment = moment.replace(minute=0)
    return moment.replace(hour=0) if unit is TimeUnit.DAY else moment
