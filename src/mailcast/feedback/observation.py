"""One thing learned about one sent message, whichever channel told it (DSN, ARF, webhook)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from mailcast.domain import FailureReason, FailureType


class Seen(StrEnum):
    """What a report says happened to one recipient."""

    DELIVERED = "delivered"  # success DSN (delivered / relayed / expanded), provider "delivered"
    FAILED = "failed"  # the MTA gave up: hard or soft per failure_type
    DELAYED = "delayed"  # the MTA is still trying (delay DSN): soft, nothing to re-send
    COMPLAINED = "complained"  # ARF / provider complaint: the address goes on the denylist
    IGNORED = "ignored"  # auto-reply, out-of-office: kept as an event, changes nothing


@dataclass(frozen=True, slots=True)
class MessageRef:
    """How a report names the message it is about; tried in this order when matching.

    Every key is signed by mailcast when it sends, so a guessed or altered key matches nothing.
    """

    verp: str = ""  # the bounce's envelope recipient: our signed VERP return path
    envid: str = ""  # RFC 3461 ENVID we sent (the VERP local part)
    message_id_header: str = ""  # the Message-ID we sent, found in the returned headers
    address: str = ""  # the recipient the report is about (ORCPT or Final-Recipient)
    # The Final-Recipient when it differs from `address` (an alias the MTA expanded): the
    # message's address may be either.
    final_recipient: str = ""


@dataclass(frozen=True, slots=True)
class Observation:
    ref: MessageRef
    seen: Seen
    at: dt.datetime
    source: str  # "dsn", "arf", "ses", "sendgrid", "postmark", "generic", "smtp"
    # Unique per (report, recipient): applying the same report twice changes nothing.
    source_key: str
    failure_type: FailureType | None = None
    failure_reason: FailureReason | None = None
    reason: str = ""  # sisimai's vocabulary (userunknown, mailboxfull, ...)
    status: str = ""  # RFC 3463 status code
    diagnostic: str = ""
    # The inbound report (raw DSN, ARF...) it was read from, when the bounce receiver kept one.
    report_id: int | None = None
