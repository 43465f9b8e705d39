"""The report consumer: reads the reports the receiver kept and applies them, a batch at a time.

The receiver only keeps a message and answers 250; a consumer claims the waiting reports
(for a while: one that dies mid-batch leaves them to another), reads them, and applies what
they say in one transaction together with each report's outcome, so a report is applied
once or not at all. Several consumers, in one process or many, take different reports;
feedback/report_consumer.py runs them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from email.header import decode_header, make_header

from sqlalchemy import Connection, RowMapping

from mailcast.compose.verp import EnvelopeSigner
from mailcast.context import Context
from mailcast.domain import ReportOutcome
from mailcast.feedback import from_report
from mailcast.feedback.apply import ApplyResult, Tally, Then, apply_observations
from mailcast.feedback.observation import Observation
from mailcast.feedback.parse import parse_report
from mailcast.store import inbound as store
from mailcast.store import tracking_links as link_store
from mailcast.store.inbound import Processed
from mailcast.tracking.unsubscribe import unsubscribe

log = logging.getLogger(__name__)

BATCH = 500  # reports applied in one transaction
CLAIM_SECONDS = 300.0  # a consumer silent this long has died: its reports go to another


@dataclass
class _Batch:
    """The claimed reports: those already decided, and the observations of the others."""

    decided: dict[int, Processed] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)  # read reports, awaiting their outcome
    read: dict[int, list[Observation]] = field(default_factory=dict)
    subjects: dict[int, str | None] = field(default_factory=dict)

    def outcomes(self, result: ApplyResult) -> dict[int, Processed]:
        """Each report's outcome, once the batch is applied."""
        outcomes = dict(self.decided)
        tally_of = {id(obs): tally for obs, tally in result.each}
        for report_id, kind in self.kinds.items():
            tallies = Counter(tally_of[id(obs)] for obs in self.read[report_id])
            outcomes[report_id] = _processed(kind, tallies)
        return {
            report_id: replace(processed, subject=self.subjects.get(report_id))
            for report_id, processed in outcomes.items()
        }

    def reports(self) -> list[int]:
        return [*self.decided, *self.kinds]

    def only(self, report_id: int) -> _Batch:
        """The part of the batch about one report."""
        part = _Batch(subjects={report_id: self.subjects.get(report_id)})
        if report_id in self.decided:
            part.decided[report_id] = self.decided[report_id]
        else:
            part.kinds[report_id] = self.kinds[report_id]
            part.read[report_id] = self.read[report_id]
        return part


def apply_waiting(ctx: Context, limit: int = BATCH) -> int:
    """Claim waiting reports, read them, apply them in one transaction; how many there were.

    Waiting: never read, or left waiting `bounces.retry_after_seconds` ago for a message
    that was on the wire.
    """
    claimed = _claim(ctx, limit)
    if not claimed:
        return 0
    batch = _Batch()
    for row in claimed:
        _read(ctx, row, batch)
    if _fault_applying(ctx, batch) is not None:
        # One report the database refuses must not hold back the others: each alone.
        for report_id in batch.reports():
            one = batch.only(report_id)
            if (fault := _fault_applying(ctx, one)) is not None:
                _record_fault(ctx, one, fault)
    return len(claimed)


def _fault_applying(ctx: Context, batch: _Batch) -> Exception | None:
    """Apply the batch with its reports' outcomes in one transaction; what failed, if it did."""
    observations = [obs for found in batch.read.values() for obs in found]
    try:
        apply_observations(ctx, observations, then=_recorder(ctx, batch))
    except Exception as exc:
        log.exception("%d inbound reports are kept but could not be applied", len(batch.reports()))
        return exc
    return None


def drain(ctx: Context) -> int:
    """Apply every waiting report (the scheduler's job where no consumer runs); how many."""
    total = 0
    while count := apply_waiting(ctx):
        total += count
    return total


def _claim(ctx: Context, limit: int) -> list[RowMapping]:
    now = ctx.clock.now()
    retry = dt.timedelta(seconds=ctx.settings.bounces.retry_after_seconds)
    with ctx.db.write() as conn:
        return store.claim_reports(
            conn,
            now=now,
            until=now + dt.timedelta(seconds=CLAIM_SECONDS),
            retry_before=now - retry,
            limit=limit,
        )


def _read(ctx: Context, row: RowMapping, batch: _Batch) -> None:
    """What the report says, or its outcome when there is nothing to apply in the batch."""
    report_id = int(row["id"])
    raw = bytes(row["raw"])
    batch.subjects[report_id] = subject(raw)
    try:
        requests = [r for r in row["recipients"] if ctx.signer.is_unsubscribe_address(r)]
        if requests:
            batch.decided[report_id] = _unsubscribe_requests(ctx, requests, row["received_at"])
            return
        report = parse_report(raw)
    except Exception as exc:
        log.exception("inbound report %s could not be read", report_id)
        batch.decided[report_id] = Processed(ReportOutcome.RECEIVED, "", error=_error(exc))
        return
    if report.kind not in from_report.READABLE_KINDS or not report.recipients:
        batch.decided[report_id] = Processed(ReportOutcome.UNPARSED, report.kind)
        return
    batch.kinds[report_id] = report.kind
    batch.read[report_id] = from_report.observations(
        report,
        verp=_verp(ctx.signer, row["recipients"]),
        key=from_report.report_key(raw),
        at=row["received_at"],
        report_id=report_id,
    )


def _recorder(ctx: Context, batch: _Batch) -> Then:
    """Each report's outcome, written in the transaction that applies the batch."""

    def record(conn: Connection, result: ApplyResult) -> None:
        store.record_processing(conn, batch.outcomes(result), ctx.clock.now())

    return record


def _processed(kind: str, tally: Counter[Tally]) -> Processed:
    outcome = ReportOutcome.UNMATCHED
    if tally["deferred"]:
        outcome = ReportOutcome.RECEIVED  # its message was on the wire: applied again later
    elif tally["applied"]:
        outcome = ReportOutcome.APPLIED
    elif tally["duplicates"]:
        outcome = ReportOutcome.DUPLICATE
    return Processed(
        outcome,
        kind,
        applied=tally["applied"],
        duplicates=tally["duplicates"],
        unmatched=tally["unmatched"],
        deferred=tally["deferred"],
    )


def _record_fault(ctx: Context, batch: _Batch, exc: Exception) -> None:
    """The report stays waiting, tried again after the retry delay, the fault shown."""
    error = _error(exc)
    faulty = {
        report_id: replace(
            batch.decided.get(report_id)
            or Processed(ReportOutcome.RECEIVED, batch.kinds.get(report_id, ""), error=error),
            subject=batch.subjects.get(report_id),
        )
        for report_id in batch.reports()
    }
    try:
        with ctx.db.write() as conn:
            store.record_processing(conn, faulty, ctx.clock.now())
    except Exception:
        log.exception("the fault could not be recorded either; the claim expires instead")


def _unsubscribe_requests(ctx: Context, addresses: list[str], at: dt.datetime) -> Processed:
    """An email to List-Unsubscribe's mailto: what the HTTPS one-click does, for each address.

    Whatever it says: RFC 2369 asks nothing of its subject or body.
    """
    tally: Counter[Tally] = Counter()
    for address in addresses:
        message_id = ctx.signer.message_from_unsubscribe_address(address)
        if message_id is None or not _message_exists(ctx, message_id):
            tally["unmatched"] += 1  # forged, or a proof's (message 0)
        elif unsubscribe(ctx, message_id, at, "mailto"):
            tally["applied"] += 1
        else:
            tally["duplicates"] += 1
    return _processed("unsubscribe", tally)


def subject(raw: bytes) -> str | None:
    """The Subject on one line, decoded; None when it has none or it cannot be read."""
    head = raw[: raw.find(b"\r\n\r\n") if b"\r\n\r\n" in raw[:65536] else 65536]
    # A look in the header block alone: parsing the whole message cost as much as applying it.
    found = _SUBJECT.search(head)
    if found is None:
        return None
    value = found.group(1).decode("utf-8", errors="replace")
    try:
        if "=?" in value:
            value = str(make_header(decode_header(value)))
    except Exception:  # an encoded word that cannot be decoded: shown as it came
        pass
    return " ".join(value.split())[:500] or None


_SUBJECT = re.compile(rb"^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def _message_exists(ctx: Context, message_id: int) -> bool:
    with ctx.db.read() as conn:
        return link_store.message_exists(conn, message_id)


def _verp(signer: EnvelopeSigner, recipients: list[str]) -> str:
    """The first envelope recipient that is one of our signed return paths, else ""."""
    return next((r for r in recipients if signer.message_from_return_path(r) is not None), "")


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]
