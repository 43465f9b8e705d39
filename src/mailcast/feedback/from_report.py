"""A parsed report (DSN, ARF complaint, auto-reply) into one observation per recipient."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from mailcast.domain import FailureType
from mailcast.feedback.classify import SUCCESS_ACTIONS
from mailcast.feedback.model import RecipientResult, Report
from mailcast.feedback.observation import MessageRef, Observation, Seen

# Report kinds that carry observations; the others ("not_bounce", "unknown") are unparsed.
READABLE_KINDS = frozenset({"dsn", "arf", "autoreply"})
# ARF feedback types that are not a recipient's complaint about the mail.
NOT_COMPLAINTS = frozenset({"not-spam", "auth-failure", "dmarc"})

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*([^\r\n]*)", re.I | re.M)


def report_key(raw: bytes) -> str:
    """One report, however many times and by whatever route it arrives.

    Its own Message-ID and its body: trace headers added on the way (Received, Delivered-To)
    change nothing, while two notices about one message (a delay, then a failure) differ.
    """
    parts = _HEAD_END.split(raw, maxsplit=1)
    head, body = parts[0], parts[1] if len(parts) > 1 else b""
    match = _MESSAGE_ID.search(head)
    message_id = match.group(1).strip() if match else b""
    return hashlib.sha256(message_id + b"\n" + body).hexdigest()


def observations(
    report: Report, *, verp: str, key: str, at: dt.datetime, report_id: int | None = None
) -> list[Observation]:
    """What the report says about each recipient, with every hint that names our message."""
    if report.kind not in READABLE_KINDS:
        return []
    return [
        Observation(
            ref=MessageRef(
                verp=verp,
                envid=report.envid,
                message_id_header=report.message_id,
                address=r.original_recipient or r.address,
                final_recipient=r.address if r.original_recipient else "",
            ),
            seen=seen(report.kind, r),
            at=at,
            source=report.kind,
            source_key=f"{report.kind}:{key}:{n}",
            failure_type=r.failure_type,
            failure_reason=r.failure_reason,
            reason=r.reason,
            status=r.status,
            diagnostic=r.diagnostic,
            report_id=report_id,
        )
        for n, r in enumerate(report.recipients)
    ]


def seen(kind: str, recipient: RecipientResult) -> Seen:
    """What happened to the recipient, in the words every feedback channel shares."""
    if kind == "arf":
        complaint = recipient.feedback_type.lower() not in NOT_COMPLAINTS
        return Seen.COMPLAINED if complaint else Seen.IGNORED
    if kind == "autoreply":
        return Seen.IGNORED
    if recipient.action == "delayed":
        return Seen.DELAYED
    if recipient.action in SUCCESS_ACTIONS or recipient.failure_type is None:
        return Seen.DELIVERED
    if recipient.failure_type is FailureType.IGNORED:
        return Seen.IGNORED
    return Seen.FAILED
