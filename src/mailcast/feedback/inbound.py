"""What reaches the bounce receiver: whom it accepts, keeping messages, listing what was kept.

A message is stored as it arrived before the receiver answers 250, so nothing accepted is
ever lost; the report consumer (feedback/consumer.py) reads and applies it afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import RowMapping

from mailcast.compose.verp import EnvelopeSigner
from mailcast.config import BounceSettings
from mailcast.context import Context
from mailcast.domain import Action, ReportOutcome
from mailcast.store import inbound as store
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


def arrived(ctx: Context, raw: bytes, envelope: Envelope) -> store.Arrived:
    """A message as it came, ready to keep."""
    return store.Arrived(
        raw=raw,
        mail_from=envelope.mail_from,
        recipients=list(envelope.recipients),
        peer=envelope.peer,
        received_at=ctx.clock.now(),
    )


def keep_reports(ctx: Context, messages: list[store.Arrived]) -> list[int]:
    """Keep messages durably, in one commit (done when this returns); their report ids."""
    with ctx.db.write() as conn:
        return store.insert_reports(conn, messages)


def unread(ctx: Context) -> int:
    """Reports kept and not read yet."""
    with ctx.db.read() as conn:
        return store.unread_count(conn)


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
