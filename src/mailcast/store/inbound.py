"""Named queries on the inbound reports: what reached the bounce receiver, and what became of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping, func, insert, or_, select, update

from mailcast.domain import ReportOutcome
from mailcast.store.tables import inbound_reports

# Every column but the raw bytes: what listings show.
_SUMMARY = [c for c in inbound_reports.c if c.name != "raw"]


@dataclass(frozen=True, slots=True)
class Processed:
    """What processing a stored report found."""

    outcome: ReportOutcome
    kind: str
    applied: int = 0
    duplicates: int = 0
    unmatched: int = 0
    deferred: int = 0
    error: str | None = None


def insert_report(
    conn: Connection,
    *,
    raw: bytes,
    mail_from: str,
    recipients: list[str],
    peer: str | None,
    subject: str | None,
    received_at: dt.datetime,
) -> int:
    """Keep a message as it arrived, before anything reads it."""
    values = {
        "received_at": received_at,
        "mail_from": mail_from[:400],
        "recipients": recipients,
        "peer": (peer or "")[:100] or None,
        "size": len(raw),
        "raw": raw,
        "outcome": ReportOutcome.RECEIVED,
        "subject": subject,
        "applied": 0,
        "duplicates": 0,
        "unmatched": 0,
        "deferred": 0,
    }
    statement = insert(inbound_reports).values(values).returning(inbound_reports.c.id)
    return int(conn.execute(statement).scalar_one())


def get_report(conn: Connection, report_id: int) -> RowMapping | None:
    query = select(inbound_reports).where(inbound_reports.c.id == report_id)
    return conn.execute(query).mappings().first()


def record_processing(
    conn: Connection, report_id: int, processed: Processed, now: dt.datetime
) -> None:
    conn.execute(
        update(inbound_reports)
        .where(inbound_reports.c.id == report_id)
        .values(
            outcome=processed.outcome,
            kind=processed.kind,
            applied=processed.applied,
            duplicates=processed.duplicates,
            unmatched=processed.unmatched,
            deferred=processed.deferred,
            error=processed.error,
            processed_at=now,
        )
    )


def reports_to_retry(conn: Connection, before: dt.datetime, limit: int = 500) -> list[int]:
    """Reports still waiting to be (fully) applied, last looked at before `before`."""
    query = (
        select(inbound_reports.c.id)
        .where(
            inbound_reports.c.outcome == ReportOutcome.RECEIVED,
            or_(
                inbound_reports.c.processed_at <= before,
                (inbound_reports.c.processed_at.is_(None))
                & (inbound_reports.c.received_at <= before),
            ),
        )
        .order_by(inbound_reports.c.id)
        .limit(limit)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def list_reports(
    conn: Connection, outcome: ReportOutcome | None = None, limit: int = 100
) -> list[RowMapping]:
    """The newest reports first, without their raw bytes."""
    query = select(*_SUMMARY).order_by(inbound_reports.c.id.desc()).limit(limit)
    if outcome is not None:
        query = query.where(inbound_reports.c.outcome == outcome)
    return list(conn.execute(query).mappings())


def outcome_counts(conn: Connection) -> dict[ReportOutcome, int]:
    query = select(inbound_reports.c.outcome, func.count()).group_by(inbound_reports.c.outcome)
    found = {ReportOutcome(outcome): int(n) for outcome, n in conn.execute(query)}
    return {outcome: found.get(outcome, 0) for outcome in ReportOutcome}
