"""mailcast's own webhook format, for MTAs and scripts: JSON events signed with a shared key.

    POST /webhooks/generic
    X-Mailcast-Signature: sha256=<hex HMAC-SHA256 of the body, keyed by web.webhooks.generic_secret>

    {"events": [{"message_id" | "verp" | "envid": "...", "recipient": "a@example.com",
                 "event": "delivered" | "bounce" | "deferred" | "complaint",
                 "status": "5.1.1", "diagnostic": "550 5.1.1 user unknown",
                 "bounce_type": "hard" | "soft", "id": "optional unique id",
                 "timestamp": "optional ISO 8601 or Unix seconds"}]}

A batch is taken whole or not at all: one bad event refuses it, naming the event and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

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
    same_secret,
    text,
    timestamp,
)

SIGNATURE_HEADER = "X-Mailcast-Signature"
SOURCE = "generic"
EVENTS = {
    "delivered": Seen.DELIVERED,
    "bounce": Seen.FAILED,
    "deferred": Seen.DELAYED,
    "complaint": Seen.COMPLAINED,
}
BOUNCE_TYPES = {"hard": FailureType.HARD, "soft": FailureType.SOFT}
KEYS = ("message_id", "verp", "envid")


def sign(body: bytes, secret: str) -> str:
    """The header value a sender puts on a body (also what the tests sign with)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, secret: str | None) -> None:
    if not secret:
        raise Refused("the generic webhook is not configured (web.webhooks.generic_secret)")
    if not signature:
        raise Unauthenticated(
            f"the {SIGNATURE_HEADER} header is missing", f"HMAC-SHA256 header={SIGNATURE_HEADER}"
        )
    given = signature.strip().lower()
    given = given if given.startswith("sha256=") else "sha256=" + given  # bare hex is fine too
    if not same_secret(given, sign(body, secret)):
        raise Refused(f"the {SIGNATURE_HEADER} signature does not match the body")


def observations(payload: Any, now: dt.datetime) -> list[Observation]:
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise Malformed('expected a JSON object {"events": [...]}')
    return [_observation(event, n, now) for n, event in enumerate(payload["events"])]


def _observation(event: Any, n: int, now: dt.datetime) -> Observation:
    if not isinstance(event, dict):
        raise Malformed(f"events[{n}] is not a JSON object")
    seen = _seen(event, n)
    ref = _ref(event, n)
    return observe(
        seen,
        ref,
        at=timestamp(event.get("timestamp"), now),
        source=SOURCE,
        source_key=f"{SOURCE}:{text(event.get('id')) or key_of(event)}:{ref.address}",
        verdict=_verdict(seen, event, n),
    )


def _seen(event: dict[str, Any], n: int) -> Seen:
    name = text(event.get("event")).lower()
    if name not in EVENTS:
        raise Malformed(f"events[{n}].event must be one of {', '.join(EVENTS)}, not {name!r}")
    return EVENTS[name]


def _ref(event: dict[str, Any], n: int) -> MessageRef:
    recipient = address(event.get("recipient"))
    if "@" not in recipient:
        raise Malformed(f"events[{n}].recipient must be an email address")
    if not any(text(event.get(k)) for k in KEYS):
        raise Malformed(f"events[{n}] names no message: give one of {', '.join(KEYS)}")
    return MessageRef(
        verp=text(event.get("verp")),
        envid=text(event.get("envid")),
        message_id_header=text(event.get("message_id")),
        address=recipient,
    )


def _verdict(seen: Seen, event: dict[str, Any], n: int) -> Verdict | None:
    bounce_type = text(event.get("bounce_type")).lower()
    if bounce_type and bounce_type not in BOUNCE_TYPES:
        raise Malformed(f"events[{n}].bounce_type must be hard or soft, not {bounce_type!r}")
    if seen not in (Seen.FAILED, Seen.DELAYED):
        return None
    deferred = seen is Seen.DELAYED
    return classify_failure(
        text(event.get("status")),
        text(event.get("diagnostic")),
        failure_type=FailureType.SOFT if deferred else BOUNCE_TYPES.get(bounce_type),
        action="delayed" if deferred else "failed",
    )
