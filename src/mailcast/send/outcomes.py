"""What a hand-off's reply does to a sending-log line, per the feedback mode's table."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from mailcast.domain import (
    AddressNote,
    EventKind,
    FailureReason,
    FailureType,
    FeedbackMode,
    MessageStatus,
    Outcome,
    SendState,
    next_retry_at,
    next_status,
    relay_outcome,
    smtp_reply_outcome,
)
from mailcast.send.relay import RelayReply
from mailcast.store.messages import ClaimedMessage

_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")

# RFC 3463 subject.detail codes that name an ACS failure reason outright.
_REASON_BY_CODE = {
    (1, 1): FailureReason.USER_UNKNOWN,
    (1, 2): FailureReason.INVALID_DOMAIN,
    (1, 10): FailureReason.USER_UNKNOWN,
    (2, 1): FailureReason.ACCOUNT_DISABLED,
    (2, 2): FailureReason.MAILBOX_FULL,
    (4, 1): FailureReason.UNREACHABLE,
    (4, 4): FailureReason.INVALID_DOMAIN,
    (4, 7): FailureReason.UNREACHABLE,
}


def reason_from_reply(code: int, text: str) -> FailureReason:
    """The ACS failure reason an SMTP reply states through its enhanced status code."""
    match = _ENHANCED.search(text)
    if match:
        subject, detail = int(match.group(2)), int(match.group(3))
        if (subject, detail) in _REASON_BY_CODE:
            return _REASON_BY_CODE[(subject, detail)]
        if subject == 7:
            return FailureReason.REFUSED
    if code in (421, 450, 451):
        return FailureReason.UNREACHABLE
    return FailureReason.NOT_DEFINED


@dataclass(frozen=True, slots=True)
class Recorded:
    """One message's write-back: its log line, its event, and its status move."""

    delivery_id: int
    row: dict[str, Any]
    event: dict[str, Any] | None
    old: MessageStatus
    new: MessageStatus
    # What the reply says about the recipient's address (feedback/quarantine weighs it).
    address_note: AddressNote | None = None


def _unchanged(msg: ClaimedMessage) -> dict[str, Any]:
    return {
        "id": msg.id,
        "status": msg.status,
        "send_state": SendState.WAITING,
        "next_attempt_at": None,
        "attempts": msg.attempts,
        # Undoes the hand-off's mark when none happened (released before or without a reply).
        "relay_attempts": msg.relay_attempts,
        "resends": msg.resends,
        "first_failure_at": msg.first_failure_at,
        "failure_type": None,
        "failure_reason": None,
        "smtp_code": None,
        "smtp_response": None,
        "mta_queue_id": None,
        "message_id_header": None,
        "relayed_at": None,
        "relayed_by": None,
    }


def _event(msg: ClaimedMessage, kind: EventKind, now: dt.datetime, **fields: Any) -> dict[str, Any]:
    return {
        "delivery_id": msg.delivery_id,
        "message_id": msg.id,
        "profile_id": msg.profile_id,
        "kind": kind,
        "at": now,
        "failure_type": fields.pop("failure_type", None),
        "failure_reason": fields.pop("failure_reason", None),
        "detail": fields or None,
    }


def released(msg: ClaimedMessage, retry_at: dt.datetime | None = None) -> Recorded:
    """Back in the queue as it was: nothing was handed over (pause, relay unreachable)."""
    row = _unchanged(msg)
    row["next_attempt_at"] = retry_at
    return Recorded(msg.delivery_id, row, None, msg.status, msg.status)


def accepted(
    msg: ClaimedMessage,
    mode: FeedbackMode,
    reply: RelayReply,
    message_id_header: str,
    now: dt.datetime,
    worker: str,
) -> Recorded:
    outcome = relay_outcome(mode, msg.status)
    new = next_status(mode, msg.status, outcome)
    row = _unchanged(msg) | {
        "status": new,
        "send_state": SendState.DONE,
        "attempts": msg.attempts + 1,
        **msg.hand_off_begun(),
        "smtp_code": reply.code,
        "smtp_response": reply.text[:1000],
        "mta_queue_id": reply.queue_id,
        "message_id_header": message_id_header,
        "relayed_at": now,
        "relayed_by": worker,
    }
    kind = EventKind.RELAYED if msg.attempts == 0 else EventKind.RETRIED
    event = _event(msg, kind, now, smtp=reply.text[:300])
    # The relay's acceptance says nothing of the mailbox: only a reported delivery resets the
    # address, or a mailbox that bounces after every acceptance would never be quarantined.
    return Recorded(msg.delivery_id, row, event, msg.status, new)


def refused(
    msg: ClaimedMessage,
    mode: FeedbackMode,
    reply: RelayReply,
    message_id_header: str,
    now: dt.datetime,
    validity_ends_at: dt.datetime,
) -> Recorded:
    """A 5xx is a hard failure; a 4xx a soft one, retried while the validity period lasts."""
    outcome = smtp_reply_outcome(reply.code)
    new = next_status(mode, msg.status, outcome)
    first_failure_at = msg.first_failure_at or now
    attempts = msg.attempts + 1
    retry_at = None
    if outcome is Outcome.SOFT_BOUNCE:
        retry_at = next_retry_at(first_failure_at, now, attempts - 1, validity_ends_at)
    failure_type = FailureType.HARD if outcome is Outcome.HARD_BOUNCE else FailureType.SOFT
    reason = reason_from_reply(reply.code, reply.text)
    row = _unchanged(msg) | {
        "status": new,
        "send_state": SendState.WAITING if retry_at else SendState.DONE,
        "next_attempt_at": retry_at,
        "attempts": attempts,
        **msg.hand_off_begun(),
        "first_failure_at": first_failure_at,
        "failure_type": failure_type,
        "failure_reason": reason,
        "smtp_code": reply.code,
        "smtp_response": reply.text[:1000],
        "message_id_header": message_id_header,
    }
    kind = EventKind.BOUNCED if failure_type is FailureType.HARD else EventKind.DEFERRED
    event = _event(
        msg,
        kind,
        now,
        failure_type=failure_type,
        failure_reason=reason,
        smtp=f"{reply.code} {reply.text}"[:300],
    )
    detail = f"{reply.code} {reply.text}"[:300]
    note = AddressNote.failure(msg.address, failure_type, reason, now, detail)
    return Recorded(msg.delivery_id, row, event, msg.status, new, note)


def deferred(
    msg: ClaimedMessage, reply: RelayReply, message_id_header: str, retry_at: dt.datetime
) -> Recorded:
    """Refused for the pace or by the relay itself: tried again then, the address untouched.

    The attempt counts (the log shows what the relay said), the status and the address's
    standing stay as they were.
    """
    row = _unchanged(msg) | {
        "next_attempt_at": retry_at,
        "attempts": msg.attempts + 1,
        **msg.hand_off_begun(),
        "smtp_code": reply.code,
        "smtp_response": reply.text[:1000],
        "message_id_header": message_id_header,
    }
    return Recorded(msg.delivery_id, row, None, msg.status, msg.status)


def unsendable(msg: ClaimedMessage, mode: FeedbackMode, reason: str, now: dt.datetime) -> Recorded:
    """The relay cannot take this message (it needs SMTPUTF8): failed for good, nothing sent.

    A technical error, as a template that fails is: it says nothing of the address, so the
    quarantine does not weigh it.
    """
    return unrenderable(msg, mode, reason, now)


def unrenderable(msg: ClaimedMessage, mode: FeedbackMode, error: str, now: dt.datetime) -> Recorded:
    """The message could not be composed for this recipient: a technical, ignored error."""
    new = next_status(mode, msg.status, Outcome.HARD_BOUNCE)
    row = _unchanged(msg) | {
        "status": new,
        "send_state": SendState.DONE,
        "failure_type": FailureType.IGNORED,
        "failure_reason": FailureReason.ERROR_IGNORED,
        "smtp_response": error[:1000],
    }
    event = _event(
        msg,
        EventKind.FAILED,
        now,
        failure_type=FailureType.IGNORED,
        failure_reason=FailureReason.ERROR_IGNORED,
        error=error[:300],
    )
    return Recorded(msg.delivery_id, row, event, msg.status, new)
