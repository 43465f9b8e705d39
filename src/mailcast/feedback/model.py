"""What a feedback message says: per-recipient findings, their classified results, the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailcast.domain import FailureReason, FailureType

KINDS = ("dsn", "arf", "autoreply", "not_bounce", "unknown")


@dataclass
class Finding:
    """What one extractor read about one recipient, before any classification."""

    address: str = ""
    original_recipient: str = ""
    action: str = ""
    status: str = ""
    reply_code: str = ""
    diagnostic: str = ""
    # The Diagnostic-Code type (smtp, x-unix, x-postfix...); "" when the format has none.
    diagnostic_type: str = ""
    # The SMTP step the failure answered: CONN, EHLO, MAIL, RCPT, DATA, STARTTLS or "".
    command: str = ""
    # A reason the format states outright (a pipe failure, a Google Groups refusal...).
    hint: str = ""
    # A reason the format suggests, taken only when the text and codes name none.
    stated: str = ""
    # The format names the SMTP step whenever a failure answered one (a transcript, "in
    # reply to ... command"): naming none says the refusal did not answer RCPT TO.
    steps_stated: bool = False
    # A provider's own verdict on the recipient (a webhook event), not an MTA relaying a
    # server's reply: an unknown user it reports is the address's, whatever the step.
    provider_verdict: bool = False
    # The server that answered (Remote-MTA, "host X said"), to tell its own reply tables.
    remote_host: str = ""
    feedback_type: str = ""
    # Surrounding notice text, read only when the diagnostic itself says nothing useful.
    context: str = ""


@dataclass(frozen=True)
class RecipientResult:
    """One recipient of a feedback message, classified.

    `failure_type` is None for a successful outcome (delivered, relayed, expanded); a
    complaint (reason "feedback") and an auto-reply (reason "vacation") are IGNORED: they
    say nothing about deliverability, the report's kind carries their meaning.
    """

    address: str
    original_recipient: str = ""
    action: str = ""
    status: str = ""
    reply_code: str = ""
    diagnostic: str = ""
    reason: str = "undefined"
    hard: bool = False
    failure_type: FailureType | None = None
    failure_reason: FailureReason | None = None
    feedback_type: str = ""

    def as_dict(self) -> dict[str, str | None]:
        return {
            "address": self.address,
            "action": self.action,
            "status": self.status,
            "reason": self.reason,
            "failure_type": None if self.failure_type is None else self.failure_type.value,
            "failure_reason": None if self.failure_reason is None else self.failure_reason.value,
            "diagnostic": self.diagnostic,
        }


@dataclass(frozen=True)
class Report:
    """A parsed feedback message and the hints that tie it to the message mailcast sent."""

    kind: str
    recipients: list[RecipientResult] = field(default_factory=list)
    envid: str = ""  # RFC 3461 Original-Envelope-Id
    message_id: str = ""  # Message-ID of the returned (original) message
    original_to: str = ""  # To: of the returned message
    mailcast_headers: dict[str, str] = field(default_factory=dict)  # X-Mailcast-* returned
    family: str = ""  # the MTA family that wrote the notice (lhost module), "" when unknown
