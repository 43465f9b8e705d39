"""Delivery status notifications as MTAs write them: RFC 3464 in an RFC 6522 multipart/report."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.utils import format_datetime
from enum import StrEnum

from mailcast.sandbox.handler import Received

CRLF = "\r\n"


class Notice(StrEnum):
    """The three kinds of DSN (RFC 3464 Action), named by the NOTIFY word that asks for each."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"

    @property
    def notify_word(self) -> str:
        return {"failed": "FAILURE", "delayed": "DELAY", "delivered": "SUCCESS"}[self.value]


SUBJECTS = {
    Notice.FAILED: "Undelivered Mail Returned to Sender",
    Notice.DELAYED: "Delayed Mail (still being retried)",
    Notice.DELIVERED: "Successful Mail Delivery Report",
}

INTROS = {
    Notice.FAILED: "I'm sorry to have to inform you that your message could not\r\n"
    "be delivered to one or more recipients. It's attached below.",
    Notice.DELAYED: "####################################################################\r\n"
    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
    "####################################################################\r\n\r\n"
    "Your message could not be delivered yet. It will be retried.",
    Notice.DELIVERED: "Your message was successfully delivered to the destination(s)\r\n"
    "listed below.",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the notice reports about one recipient."""

    notice: Notice
    status: str  # RFC 3463, e.g. "5.1.1"
    diagnostic_type: str  # "smtp", or "X-Sandbox" when no SMTP reply was involved
    diagnostic: str
    remote_mta: str
    retry_until: dt.datetime | None = None  # delayed notices: when the MTA gives up


@dataclass(frozen=True, slots=True)
class Header:
    """The DSN's own envelope and identity."""

    reporting_mta: str
    message_id: str
    boundary: str
    at: dt.datetime


def build(message: Received, recipient: str, outcome: Outcome, header: Header) -> bytes:
    """The DSN for one recipient of an accepted message, as bytes ready for SMTP DATA."""
    parts = [
        _notification(recipient, outcome, header),
        _delivery_status(message, recipient, outcome, header),
        _returned(message, outcome),
    ]
    body = "".join(f"--{header.boundary}{CRLF}{part}{CRLF}" for part in parts)
    text = (
        _headers(message, outcome, header)
        + "This is a MIME-encapsulated message."
        + CRLF * 2
        + body
        + f"--{header.boundary}--{CRLF}"
    )
    return text.encode("utf-8", "surrogateescape")


def _headers(message: Received, outcome: Outcome, header: Header) -> str:
    fields = [
        ("Date", format_datetime(header.at)),
        ("From", f"Mail Delivery System <MAILER-DAEMON@{header.reporting_mta}>"),
        ("Subject", SUBJECTS[outcome.notice]),
        ("To", message.mail_from),
        ("Auto-Submitted", "auto-replied"),
        ("MIME-Version", "1.0"),
        (
            "Content-Type",
            f'multipart/report; report-type=delivery-status;{CRLF}\tboundary="{header.boundary}"',
        ),
        ("Message-ID", header.message_id),
    ]
    return "".join(f"{name}: {value}{CRLF}" for name, value in fields) + CRLF


def _notification(recipient: str, outcome: Outcome, header: Header) -> str:
    said = f"host {outcome.remote_mta} said: {outcome.diagnostic}"
    if outcome.diagnostic_type.lower() != "smtp":
        said = outcome.diagnostic
    return (
        f"Content-Description: Notification{CRLF}"
        f"Content-Type: text/plain; charset=us-ascii{CRLF}{CRLF}"
        f"This is the mail system at host {header.reporting_mta}.{CRLF}{CRLF}"
        f"{INTROS[outcome.notice]}{CRLF}{CRLF}"
        f"                   The mail system{CRLF}{CRLF}"
        f"<{recipient}>: {said}{CRLF}"
    )


def _delivery_status(message: Received, recipient: str, outcome: Outcome, header: Header) -> str:
    per_message = [("Reporting-MTA", f"dns; {header.reporting_mta}")]
    if message.mail_params.get("ENVID"):
        per_message.append(("Original-Envelope-Id", message.mail_params["ENVID"]))
    per_message.append(("Arrival-Date", format_datetime(message.received_at)))
    per_recipient = [("Final-Recipient", f"rfc822; {recipient}")]
    orcpt = message.params_for(recipient).get("ORCPT") if message.rcpt_params else None
    if orcpt:
        per_recipient.insert(0, ("Original-Recipient", orcpt))
    per_recipient += [
        ("Action", outcome.notice.value),
        ("Status", outcome.status),
        ("Remote-MTA", f"dns; {outcome.remote_mta}"),
        ("Diagnostic-Code", f"{outcome.diagnostic_type}; {outcome.diagnostic}"),
        ("Last-Attempt-Date", format_datetime(header.at)),
    ]
    if outcome.retry_until is not None:
        per_recipient.append(("Will-Retry-Until", format_datetime(outcome.retry_until)))
    fields = [_fields(per_message), _fields(per_recipient)]
    return (
        f"Content-Description: Delivery report{CRLF}"
        f"Content-Type: message/delivery-status{CRLF}{CRLF}" + CRLF.join(fields)
    )


def _returned(message: Received, outcome: Outcome) -> str:
    """The whole message for a failure unless RET=HDRS asked for headers only (RFC 3461)."""
    head, body = _split(message.data or b"")
    full = outcome.notice is Notice.FAILED and message.mail_params.get("RET", "").upper() != "HDRS"
    if full:
        return (
            f"Content-Description: Undelivered Message{CRLF}"
            f"Content-Type: message/rfc822{CRLF}{CRLF}{head}{CRLF}{body}"
        )
    description = "Message Headers"
    if outcome.notice is not Notice.DELIVERED:
        description = "Undelivered Message Headers"
    return (
        f"Content-Description: {description}{CRLF}"
        f"Content-Type: text/rfc822-headers{CRLF}{CRLF}{head}"
    )


def _split(data: bytes) -> tuple[str, str]:
    """The header block (ending in CRLF) and the body, with CRLF line ends throughout."""
    text = re.sub(r"\r?\n", CRLF, data.decode("utf-8", "surrogateescape"))
    head, sep, body = text.partition(CRLF * 2)
    return head + CRLF, body if sep else ""


def _fields(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"{name}: {value}{CRLF}" for name, value in pairs)
