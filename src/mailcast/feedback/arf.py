"""Complaint reports: RFC 5965 ARF, and the providers' own unsubscribe/complaint formats."""

from __future__ import annotations

import re
from email.message import Message

from mailcast.feedback import mime, params, smtp
from mailcast.feedback.dsn import parse_fields
from mailcast.feedback.model import Finding

# Headers by which providers that send no ARF part mark a complaint or an unsubscription.
_PROVIDER_MARKS = {
    "x-apple-unsubscribe": "opt-out",  # Apple Mail's "unsubscribe" button
    "x-hmxmroriginalrecipient": "abuse",  # Outlook.com (Hotmail) junk-mail reports
}
_RECIPIENT_FIELDS = ("original-rcpt-to", "removal-recipient", "x-hmxmroriginalrecipient")
# Senders whose complaints come as multipart/mixed, no report part (sisimai's ARF.pm).
_COMPLAINT_SENDERS = re.compile(r"staff@hotmail\.com|complaints@email-abuse\.amazonses\.com", re.I)
_COMPLAINT_SUBJECT = re.compile(r"complaint about message from ", re.I)


def is_complaint(message: Message, parts: mime.Parts) -> bool:
    if parts.feedback_reports:
        return True
    report_type = (params.param(message, "report-type") or "").lower()
    return (
        report_type == "feedback-report"
        or bool(_provider_mark(message, parts))
        or bool(
            _COMPLAINT_SENDERS.search(mime.header(message, "from"))
            and _COMPLAINT_SUBJECT.search(mime.header(message, "subject"))
        )
    )


def findings(message: Message, parts: mime.Parts) -> list[Finding]:
    """One finding per complained-about recipient, each with the report's feedback type.

    A report may repeat Original-Rcpt-To (RFC 5965 §3.2: once per recipient of the
    reported message); each one is a recipient of the complaint.
    """
    fields: dict[str, str] = {}
    listed: list[str] = []
    # Some reporters put the report fields in a text part rather than their own part, or
    # list the recipients there while their report part names none.
    for texts in (parts.feedback_reports, parts.notice):
        for text in texts:
            for name, value in parse_fields(text):
                fields.setdefault(name, value)
                if name in _RECIPIENT_FIELDS[:2]:
                    listed += smtp.addresses(value)
        if listed:
            break
    feedback_type = (fields.get("feedback-type", "").split() or [""])[0].lower()
    addresses = list(dict.fromkeys(listed)) or [_recipient(fields, message, parts)]
    return [
        Finding(
            address=address,
            feedback_type=feedback_type or _provider_mark(message, parts) or "abuse",
            hint="feedback",
            diagnostic=fields.get("feedback-type", ""),
        )
        for address in addresses
    ]


def _provider_mark(message: Message, parts: mime.Parts) -> str:
    for source in (message, parts.returned):
        if source is None:
            continue
        for name, feedback_type in _PROVIDER_MARKS.items():
            if source.get(name) is not None:
                return feedback_type
    return ""


def _recipient(fields: dict[str, str], message: Message, parts: mime.Parts) -> str:
    """The address complained about: the report's fields first, then the returned headers."""
    candidates = [fields.get(name, "") for name in _RECIPIENT_FIELDS]
    if parts.returned is not None:
        candidates += [mime.header(parts.returned, n) for n in ("x-hmxmroriginalrecipient", "to")]
    if message.get("x-apple-unsubscribe") is not None:
        # Apple sends the request from the subscriber's own address.
        candidates.append(mime.header(message, "from"))
    for candidate in candidates:
        found = smtp.addresses(candidate)
        if found:
            return found[0]
    return ""
