"""What the bounce receiver does with a message: keep it, then read it and apply it.

A message is stored as it arrived before the receiver answers 250, so nothing accepted is
ever lost; reading and applying come after, and a report that could not be applied in full
(a database fault, its message on the wire) stays `received` for the scheduler to retry.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import logging
from dataclasses import dataclass

from sqlalchemy import RowMapping

from mailcast.compose.verp import EnvelopeSigner
from mailcast.config import BounceSettings
from mailcast.context import Context
from mailcast.domain import Action, ReportOutcome
from mailcast.feedback import from_report
from mailcast.feedback.apply import ApplyResult, apply_observations
from mailcast.feedback.parse import parse_report
from mailcast.store import inbound as store
from mailcast.store import tracking_links as link_store
from mailcast.store.inbound import Processed
from mailcast.tracking.unsubscribe import unsubscribe
from mailcast.users.service import User, authorize

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Envelope:
    mail_from: str
    recipients: tuple[str, ...]
    peer: str | None = None


def accepts(signer: EnvelopeSigner, settings: BounceSettings, address: str) -> bool:
    """A recipient the receiver takes: a signed VERP address, a feedback address, or an
    unsubscribe address (a forged one too: it is kept and counted as unmatched)."""
    if signer.message_from_return_path(address) is not None:
        return True
    if signer.is_unsubscribe_address(address):
        return True
    wanted = address.strip().strip("<>").casefold()
    domain = signer.bounce_domain.casefold()
    for configured in settings.feedback_addresses:
        name = configured.strip().casefold()
        full = name if "@" in name else f"{name}@{domain}"
        # RFC 5321 §4.5.1: "postmaster" alone names the postmaster of the receiving host.
        if wanted in (full, name):
            return True
    return False


def store_report(ctx: Context, raw: bytes, envelope: Envelope) -> int:
    """Keep the message durably (committed when this returns); its report id."""
    with ctx.db.write() as conn:
        return store.insert_report(
            conn,
            raw=raw,
            mail_from=envelope.mail_from,
            recipients=list(envelope.recipients),
            peer=envelope.peer,
            subject=_subject(raw),
            received_at=ctx.clock.now(),
        )


def process_report(ctx: Context, report_id: int) -> Processed:
    """Read a stored report and apply it; a fault leaves it `received`, to be tried again."""
    with ctx.db.read() as conn:
        row = store.get_report(conn, report_id)
    if row is None:
        raise LookupError(f"no inbound report {report_id}")
    try:
        processed = _read_and_apply(ctx, report_id, bytes(row["raw"]), row)
    except Exception as exc:
        log.exception("inbound report %s could not be applied", report_id)
        processed = Processed(ReportOutcome.RECEIVED, row["kind"] or "", error=_error(exc))
    with ctx.db.write() as conn:
        store.record_processing(conn, report_id, processed, ctx.clock.now())
    return processed


def _read_and_apply(ctx: Context, report_id: int, raw: bytes, row: RowMapping) -> Processed:
    requests = [r for r in row["recipients"] if ctx.signer.is_unsubscribe_address(r)]
    if requests:
        return _unsubscribe_requests(ctx, requests, row["received_at"])
    report = parse_report(raw)
    if report.kind not in from_report.READABLE_KINDS or not report.recipients:
        return Processed(ReportOutcome.UNPARSED, report.kind)
    found = from_report.observations(
        report,
        verp=_verp(ctx.signer, row["recipients"]),
        key=from_report.report_key(raw),
        at=row["received_at"],
        report_id=report_id,
    )
    result = apply_observations(ctx, found)
    return Processed(
        _outcome(result),
        report.kind,
        applied=result.applied,
        duplicates=result.duplicates,
        unmatched=result.unmatched,
        deferred=result.deferred,
    )


def _unsubscribe_requests(ctx: Context, addresses: list[str], at: dt.datetime) -> Processed:
    """An email to List-Unsubscribe's mailto: what the HTTPS one-click does, for each address.

    Whatever it says: RFC 2369 asks nothing of its subject or body.
    """
    applied = duplicates = unmatched = 0
    for address in addresses:
        message_id = ctx.signer.message_from_unsubscribe_address(address)
        if message_id is None or not _message_exists(ctx, message_id):
            unmatched += 1  # forged, or a proof's (message 0)
        elif unsubscribe(ctx, message_id, at, "mailto"):
            applied += 1
        else:
            duplicates += 1
    outcome = ReportOutcome.UNMATCHED
    if applied:
        outcome = ReportOutcome.APPLIED
    elif duplicates:
        outcome = ReportOutcome.DUPLICATE
    return Processed(
        outcome, "unsubscribe", applied=applied, duplicates=duplicates, unmatched=unmatched
    )


def _message_exists(ctx: Context, message_id: int) -> bool:
    with ctx.db.read() as conn:
        return link_store.message_exists(conn, message_id)


def _outcome(result: ApplyResult) -> ReportOutcome:
    if result.deferred:
        return ReportOutcome.RECEIVED
    if result.applied:
        return ReportOutcome.APPLIED
    if result.duplicates:
        return ReportOutcome.DUPLICATE
    return ReportOutcome.UNMATCHED


def retry_reports(ctx: Context) -> int:
    """The scheduler's job: apply again what stayed `received` past the retry delay."""
    settings = ctx.settings.bounces
    before = ctx.clock.now() - dt.timedelta(seconds=settings.retry_after_seconds)
    with ctx.db.read() as conn:
        waiting = store.reports_to_retry(conn, before)
    for report_id in waiting:
        process_report(ctx, report_id)
    return len(waiting)


def _verp(signer: EnvelopeSigner, recipients: list[str]) -> str:
    """The first envelope recipient that is one of our signed return paths, else ""."""
    return next((r for r in recipients if signer.message_from_return_path(r) is not None), "")


def _subject(raw: bytes) -> str | None:
    try:
        head = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        subject = head.get("subject")
        return None if subject is None else " ".join(str(subject).split())[:500]
    except Exception:  # a header that cannot be decoded: the listing shows none
        return None


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


# --- Reading what arrived (role prepare_deliveries: the logs) ------------------------------


def list_reports(
    ctx: Context, user: User, outcome: ReportOutcome | None = None, limit: int = 100
) -> list[RowMapping]:
    """The newest inbound reports first (without their bytes), of one outcome or all."""
    authorize(user, Action.READ_LOGS)
    with ctx.db.read() as conn:
        return store.list_reports(conn, outcome, limit)


def report_counts(ctx: Context, user: User) -> dict[ReportOutcome, int]:
    authorize(user, Action.READ_LOGS)
    with ctx.db.read() as conn:
        return store.outcome_counts(conn)


def raw_report(ctx: Context, user: User, report_id: int) -> bytes:
    """A report's bytes exactly as they arrived."""
    authorize(user, Action.READ_LOGS)
    with ctx.db.read() as conn:
        row = store.get_report(conn, report_id)
    if row is None:
        raise LookupError(f"no inbound report {report_id}")
    return bytes(row["raw"])
