"""Amazon SES notifications (delivered through SNS) as observations.

Bounce: bounceType Permanent → hard, Transient and Undetermined → soft; Complaint →
complained; Delivery → delivered; DeliveryDelay → delayed. Both the notification format
(`notificationType`) and the event-publishing format (`eventType`) are read. The message is
named by the Message-ID header it was sent with (mailcast's signed one), the envelope sender
(our signed VERP return path) and the recipient.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailcast.domain import FailureType
from mailcast.feedback.observation import MessageRef, Observation, Seen
from mailcast.feedback.webhooks.common import (
    Malformed,
    address,
    classify_failure,
    items,
    key_of,
    load_json,
    obj,
    objects,
    observe,
    text,
    timestamp,
)

SOURCE = "ses"
BOUNCE_TYPES = {
    "permanent": FailureType.HARD,
    "transient": FailureType.SOFT,
    "undetermined": FailureType.SOFT,
}
# bounceSubType values that name a cause outright (sisimai's vocabulary).
SUBTYPE_REASONS = {
    "noemail": "userunknown",
    "mailboxfull": "mailboxfull",
    "messagetoolarge": "mesgtoobig",
    "contentrejected": "contenterror",
    "attachmentrejected": "contenterror",
    "suppressed": "suppressed",
    "onaccountsuppressionlist": "suppressed",
}


def notification(message: str) -> dict[str, Any]:
    """The SES notification carried as JSON text in an SNS message."""
    payload = load_json(message.encode())
    if not isinstance(payload, dict):
        raise Malformed("the SNS Message is not an SES notification (a JSON object)")
    return payload


def observations(payload: dict[str, Any], now: dt.datetime) -> list[Observation]:
    kind = text(payload.get("notificationType") or payload.get("eventType")).lower()
    reader = _READERS.get(kind)
    if reader is None:
        return []  # sends, opens, clicks...: nothing the sending log follows
    found = reader(payload, Mail(obj(payload.get("mail"))), now)
    return [o for o in found if "@" in o.ref.address]


class Mail:
    """The `mail` object: what names the message that was sent."""

    def __init__(self, mail: dict[str, Any]) -> None:
        self.ses_id = text(mail.get("messageId"))
        self.message_id = _header(mail, "message-id") or text(
            obj(mail.get("commonHeaders")).get("messageId")
        )
        # The envelope sender we gave SES: one of our signed VERP return paths, or nothing
        # that matches (correlation checks the signature).
        self.verp = address(mail.get("source"))

    def ref(self, recipient: str) -> MessageRef:
        return MessageRef(verp=self.verp, message_id_header=self.message_id, address=recipient)


def _bounce(payload: dict[str, Any], mail: Mail, now: dt.datetime) -> list[Observation]:
    bounce = obj(payload.get("bounce"))
    failure_type = BOUNCE_TYPES.get(text(bounce.get("bounceType")).lower(), FailureType.SOFT)
    hint = SUBTYPE_REASONS.get(text(bounce.get("bounceSubType")).lower(), "")
    at = timestamp(bounce.get("timestamp"), now)
    feedback = text(bounce.get("feedbackId")) or key_of(payload)
    found = []
    for entry in objects(bounce.get("bouncedRecipients")):
        recipient = address(entry.get("emailAddress"))
        verdict = classify_failure(
            text(entry.get("status")),
            text(entry.get("diagnosticCode")),
            hint=hint,
            failure_type=failure_type,
        )
        key = f"{SOURCE}:bounce:{feedback}:{recipient}"
        found.append(
            observe(
                Seen.FAILED,
                mail.ref(recipient),
                at=at,
                source=SOURCE,
                source_key=key,
                verdict=verdict,
            )
        )
    return found


def _delay(payload: dict[str, Any], mail: Mail, now: dt.datetime) -> list[Observation]:
    delay = obj(payload.get("deliveryDelay"))
    at = timestamp(delay.get("timestamp"), now)
    found = []
    for entry in objects(delay.get("delayedRecipients")):
        recipient = address(entry.get("emailAddress"))
        verdict = classify_failure(
            text(entry.get("status")),
            text(entry.get("diagnosticCode")),
            failure_type=FailureType.SOFT,
            action="delayed",
        )
        key = f"{SOURCE}:delay:{mail.ses_id}:{recipient}:{at.isoformat()}"
        found.append(
            observe(
                Seen.DELAYED,
                mail.ref(recipient),
                at=at,
                source=SOURCE,
                source_key=key,
                verdict=verdict,
            )
        )
    return found


def _complaint(payload: dict[str, Any], mail: Mail, now: dt.datetime) -> list[Observation]:
    complaint = obj(payload.get("complaint"))
    at = timestamp(complaint.get("timestamp"), now)
    feedback = text(complaint.get("feedbackId")) or key_of(payload)
    return [
        observe(
            Seen.COMPLAINED,
            mail.ref(recipient),
            at=at,
            source=SOURCE,
            source_key=f"{SOURCE}:complaint:{feedback}:{recipient}",
        )
        for recipient in (
            address(e.get("emailAddress")) for e in objects(complaint.get("complainedRecipients"))
        )
    ]


def _delivery(payload: dict[str, Any], mail: Mail, now: dt.datetime) -> list[Observation]:
    delivery = obj(payload.get("delivery"))
    at = timestamp(delivery.get("timestamp"), now)
    return [
        observe(
            Seen.DELIVERED,
            mail.ref(recipient),
            at=at,
            source=SOURCE,
            source_key=f"{SOURCE}:delivery:{mail.ses_id or key_of(payload)}:{recipient}",
        )
        for recipient in (address(r) for r in items(delivery.get("recipients")))
    ]


_READERS = {
    "bounce": _bounce,
    "complaint": _complaint,
    "delivery": _delivery,
    "deliverydelay": _delay,
}


def _header(mail: dict[str, Any], name: str) -> str:
    for header in objects(mail.get("headers")):
        if text(header.get("name")).lower() == name:
            return text(header.get("value"))
    return ""
