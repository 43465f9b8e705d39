"""SendGrid's signed Event Webhook, and its bounce-list export, as observations.

The signature (X-Twilio-Email-Event-Webhook-Signature) is ECDSA P-256 with SHA-256 over the
timestamp header followed by the raw body, checked with the verification key from settings.
Events: delivered; bounce (type bounce: classified, permanent unless the text says otherwise;
type blocked: soft); deferred; dropped; spamreport. Entries without an `event` are the
bounce list's `{email, status, reason, created}` and read as bounces. The message is named by
a custom argument (`mailcast_verp`, `mailcast_envid`, `mailcast_message_id`), by `smtp-id`
(the Message-ID header it was sent with) and by the recipient.

SendGrid retries a failed post for up to three days, so an old timestamp is not refused;
applying an event twice changes nothing (its sg_event_id is the source key).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mailcast.domain import FailureType
from mailcast.feedback.observation import MessageRef, Observation, Seen
from mailcast.feedback.webhooks.common import (
    Malformed,
    Refused,
    Unauthenticated,
    Verdict,
    address,
    classify_failure,
    key_of,
    observe,
    text,
    timestamp,
)

SOURCE = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
SEEN = {
    "delivered": Seen.DELIVERED,
    "bounce": Seen.FAILED,
    "dropped": Seen.FAILED,
    "deferred": Seen.DELAYED,
    "spamreport": Seen.COMPLAINED,
}
# Dropped because SendGrid already knows the address is bad: a verdict on the address.
HARD_DROPS = frozenset({"bounced address", "invalid"})
UNCLASSIFIED = frozenset({"onhold", "undefined"})


def public_key(configured: str | None) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER) or as PEM."""
    if not configured:
        raise Refused("the SendGrid webhook is not configured (web.webhooks.sendgrid_public_key)")
    try:
        if "-----BEGIN" in configured:
            key = serialization.load_pem_public_key(configured.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(configured))
    except (ValueError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise Refused(f"web.webhooks.sendgrid_public_key is not a public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Refused("web.webhooks.sendgrid_public_key is not an ECDSA key")
    return key


def verify(
    body: bytes, signature: str | None, stamp: str | None, configured_key: str | None
) -> None:
    key = public_key(configured_key)
    if not signature or not stamp:
        raise Unauthenticated(
            f"the {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} headers are needed", "ECDSA-P256"
        )
    try:
        key.verify(base64.b64decode(signature), stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise Refused("the SendGrid signature does not match the timestamp and body") from exc


def observations(payload: Any, now: dt.datetime) -> list[Observation]:
    entries = [payload] if isinstance(payload, dict) else payload
    if not isinstance(entries, list):
        raise Malformed("expected a JSON array of SendGrid events")
    found = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise Malformed(f"event [{n}] is not a JSON object")
        observed = _observation(entry, now)
        if observed is not None:
            found.append(observed)
    return found


def _observation(entry: dict[str, Any], now: dt.datetime) -> Observation | None:
    name = text(entry.get("event")).lower() or "bounce"  # the bounce list has no event
    recipient = address(entry.get("email"))
    if name not in SEEN or "@" not in recipient:
        return None  # processed, open, click...: nothing the sending log follows
    seen = SEEN[name]
    event_id = text(entry.get("sg_event_id")) or key_of(entry)
    return observe(
        seen,
        _ref(entry, recipient),
        at=timestamp(entry.get("timestamp") or entry.get("created"), now),
        source=SOURCE,
        source_key=f"{SOURCE}:{event_id}:{recipient}",
        verdict=_verdict(name, entry),
    )


def _ref(entry: dict[str, Any], recipient: str) -> MessageRef:
    return MessageRef(
        verp=text(entry.get("mailcast_verp")),
        envid=text(entry.get("mailcast_envid")),
        message_id_header=text(entry.get("mailcast_message_id") or entry.get("smtp-id")),
        address=recipient,
    )


def _verdict(name: str, entry: dict[str, Any]) -> Verdict | None:
    status = text(entry.get("status"))
    said = text(entry.get("reason") or entry.get("response"))
    if name == "deferred":
        return classify_failure(status, said, failure_type=FailureType.SOFT, action="delayed")
    if name == "dropped":
        hard = said.lower() in HARD_DROPS
        return classify_failure(
            status, said, hint="suppressed", failure_type=FailureType.HARD if hard else None
        )
    if name != "bounce":
        return None
    if text(entry.get("type")).lower() == "blocked":
        return classify_failure(status, said, failure_type=FailureType.SOFT)
    verdict = classify_failure(status, said)
    if verdict.reason in UNCLASSIFIED:
        # SendGrid's "bounce" is a permanent refusal when the text names no other cause.
        return classify_failure(status, said, failure_type=FailureType.HARD)
    return verdict
