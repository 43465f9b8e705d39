"""The dynamic report of a delivery: exact figures, always computed from the logs (SPEC §4).

Counts and rates come from a recount of the sending log and the events, not from the live
counters; the hourly series counts events by the hour they happened (UTC); the breakdowns
group the failed messages by reason and every message by its recipient's domain.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from mailcast.context import Context
from mailcast.domain import EventKind, Kpis, MessageStatus, StatusCounts, kpis
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store import stats as store

# The hourly series' columns: what the events of each hour were.
SERIES_KINDS = (
    EventKind.RELAYED,
    EventKind.RETRIED,
    EventKind.DELIVERED,
    EventKind.BOUNCED,
    EventKind.DEFERRED,
    EventKind.FAILED,
    EventKind.OPENED,
    EventKind.CLICKED,
    EventKind.UNSUBSCRIBED,
    EventKind.COMPLAINED,
)


@dataclass(frozen=True)
class Hour:
    """One hour of the series: events by kind; opens and clicks by people only."""

    start: dt.datetime
    counts: dict[EventKind, int]
    machine_opens: int = 0
    machine_clicks: int = 0

    @property
    def handed_off(self) -> int:
        """Messages the MTA accepted this hour (first hand-offs and retries)."""
        return self.counts.get(EventKind.RELAYED, 0) + self.counts.get(EventKind.RETRIED, 0)


@dataclass(frozen=True)
class FailureRow:
    failure_type: str
    failure_reason: str
    messages: int


@dataclass(frozen=True)
class DomainRow:
    domain: str
    messages: int
    statuses: dict[MessageStatus, int]
    opened: int  # messages opened by a person at least once
    clicked: int


@dataclass(frozen=True)
class DeliveryReport:
    delivery_id: int
    name: str
    counts: StatusCounts
    kpis: Kpis
    total_opens: int
    total_clicks: int
    unsubscribed: int
    excluded: int
    machine_opens: int
    machine_clicks: int
    relayed_more_than_once: int  # handed over again after an unrecorded hand-off
    hours: list[Hour] = field(default_factory=list)
    failures: list[FailureRow] = field(default_factory=list)
    domains: list[DomainRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (times in ISO 8601, UTC)."""
        data = asdict(self)
        data["kpis"]["processed"] = self.counts.processed
        data["hours"] = [
            {"start": h.start.isoformat(), "handed_off": h.handed_off}
            | {k.value: n for k, n in h.counts.items()}
            | {"machine_opens": h.machine_opens, "machine_clicks": h.machine_clicks}
            for h in self.hours
        ]
        data["domains"] = [
            {"domain": d.domain, "messages": d.messages, "opened": d.opened, "clicked": d.clicked}
            | {s.value: n for s, n in d.statuses.items()}
            for d in self.domains
        ]
        return data


def delivery_report(ctx: Context, delivery_id: int) -> DeliveryReport:
    with ctx.db.read() as conn:
        delivery = delivery_store.get_delivery(conn, delivery_id)
        recounted = store.recount(conn, delivery_id, exclude_machine=_excluding(ctx))
        machine = store.machine_totals(conn, delivery_id)
        hourly = store.hourly_events(conn, delivery_id)
        failures = store.failures_by_reason(conn, delivery_id)
        domains = store.by_domain(conn, delivery_id)
        relayed_again = message_store.count_relayed_more_than_once(conn, delivery_id)
    counts = _status_counts(recounted)
    return DeliveryReport(
        delivery_id=delivery_id,
        name=delivery["name"],
        counts=counts,
        kpis=kpis(counts),
        total_opens=recounted["total_opens"],
        total_clicks=recounted["total_clicks"],
        unsubscribed=recounted["unsubscribed"],
        excluded=recounted["excluded"],
        machine_opens=machine.get(EventKind.OPENED, 0),
        machine_clicks=machine.get(EventKind.CLICKED, 0),
        relayed_more_than_once=relayed_again,
        hours=_hours(hourly),
        failures=[FailureRow(*row) for row in sorted(failures, key=lambda r: (-r[2], r[0], r[1]))],
        domains=[_domain_row(row) for row in domains],
    )


def _status_counts(recounted: dict[str, int]) -> StatusCounts:
    return StatusCounts(
        **{name: recounted[name] for name in ("to_deliver", *store.STATUS_COUNTERS)},
        unique_opens=recounted["unique_opens"],
        unique_clicks=recounted["unique_clicks"],
    )


def _hours(rows: list[tuple[str, str, bool, int]]) -> list[Hour]:
    """Group (hour, kind, machine, n) rows into hours; machine opens and clicks apart."""
    people: dict[str, dict[EventKind, int]] = defaultdict(dict)
    machines: dict[str, dict[EventKind, int]] = defaultdict(dict)
    for hour, kind, machine, n in rows:
        bucket = machines if machine else people
        bucket[hour][EventKind(kind)] = bucket[hour].get(EventKind(kind), 0) + n
    return [
        Hour(
            start=dt.datetime.fromisoformat(hour).replace(tzinfo=dt.UTC),
            counts=dict(people[hour]),
            machine_opens=machines[hour].get(EventKind.OPENED, 0),
            machine_clicks=machines[hour].get(EventKind.CLICKED, 0),
        )
        for hour in sorted(people.keys() | machines.keys())
    ]


def _domain_row(row: dict[str, Any]) -> DomainRow:
    return DomainRow(
        domain=row["domain"],
        messages=int(row["messages"]),
        statuses={s: int(row[s.value]) for s in MessageStatus if row[s.value]},
        opened=int(row["opened"]),
        clicked=int(row["clicked"]),
    )


def _excluding(ctx: Context) -> bool:
    return ctx.settings.tracking.exclude_machine_events
