"""Postmark's webhooks (Bounce, Delivery, SpamComplaint) as observations.

Postmark authenticates a webhook with HTTP basic auth credentials written into its URL
(`https://user:secret@host/webhooks/postmark`) or with a custom header it adds; mailcast
accepts either, as configured (`postmark_username`/`postmark_password`, `postmark_secret` in
the X-Mailcast-Webhook-Secret header). Postmark assigns its own MessageID, so the message is
named by metadata mailcast sets when it sends (X-PM-Metadata-mailcast_verp, ..._envid,
..._message_id) and by the recipient.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
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
    obj,
    observe,
    same_secret,
    text,
    timestamp,
)

SOURCE = "postmark"
SECRET_HEADER = "X-Mailcast-Webhook-Secret"

# Bounce Type → (failure type, the cause it names); None: the classifier decides.
BOUNCE_TYPES: dict[str, tuple[FailureType | None, str]] = {
    "hardbounce": (FailureType.HARD, ""),
    "bademailaddress": (FailureType.HARD, "userunknown"),
    "softbounce": (FailureType.SOFT, ""),
    "transient": (FailureType.SOFT, ""),
    "dnserror": (FailureType.SOFT, "networkerror"),
    "blocked": (FailureType.SOFT, "blocked"),
    "manuallydeactivated": (FailureType.SOFT, "suppressed"),
    "dmarcpolicy": (FailureType.SOFT, "authfailure"),
    "unknown": (None, ""),
    "smtpapierror": (FailureType.SOFT, ""),
}
AUTO_REPLIES = frozenset({"autoresponder"})
COMPLAINTS = frozenset({"spamcomplaint"})


def verify(
    authorization: str | None,
    secret_header: str | None,
    username: str | None,
    password: str | None,
    secret: str | None,
) -> None:
    basic_configured = bool(username and password)
    if not basic_configured and not secret:
        raise Refused("the Postmark webhook is not configured (web.webhooks.postmark_*)")
    if not authorization and not secret_header:
        raise Unauthenticated(
            "Postmark credentials are missing (basic auth or secret header)",
            'Basic realm="mailcast webhooks"',
        )
    if secret and secret_header and same_secret(secret_header, secret):
        return
    if basic_configured and authorization and _basic_matches(authorization, username, password):
        return
    raise Refused("the Postmark credentials are wrong")


def _basic_matches(authorization: str, username: str | None, password: str | None) -> bool:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    # Both halves compared, always, so the timing says nothing about which one is wrong.
    user, _, word = given.partition(b":")
    user_ok = same_secret(user, (username or "").encode())
    word_ok = same_secret(word, (password or "").encode())
    return user_ok and word_ok


def observations(payload: Any, now: dt.datetime) -> list[Observation]:
    records = payload if isinstance(payload, list) else [payload]
    found = []
    for n, record in enumerate(records):
        if not isinstance(record, dict):
            raise Malformed(f"record [{n}] is not a JSON object")
        observed = _observation(record, now)
        if observed is not None and "@" in observed.ref.address:
            found.append(observed)
    return found


def _observation(record: dict[str, Any], now: dt.datetime) -> Observation | None:
    kind = text(record.get("RecordType")).lower()
    if kind == "delivery":
        recipient = address(record.get("Recipient"))
        key = f"delivery:{text(record.get('MessageID')) or key_of(record)}"
        return _observe(Seen.DELIVERED, record, recipient, "DeliveredAt", key, now)
    recipient = address(record.get("Email"))
    key = f"{kind}:{text(record.get('ID')) or key_of(record)}"
    if kind == "spamcomplaint":
        return _observe(Seen.COMPLAINED, record, recipient, "BouncedAt", key, now)
    if kind == "bounce":
        return _bounce(record, recipient, key, now)
    return None  # Open, Click, SubscriptionChange: nothing the sending log follows


def _bounce(
    record: dict[str, Any], recipient: str, key: str, now: dt.datetime
) -> Observation | None:
    bounce_type = text(record.get("Type")).lower()
    if bounce_type in COMPLAINTS:
        return _observe(Seen.COMPLAINED, record, recipient, "BouncedAt", key, now)
    if bounce_type in AUTO_REPLIES:
        verdict = Verdict("vacation", FailureType.IGNORED, None, "", text(record.get("Details")))
        return _observe(Seen.IGNORED, record, recipient, "BouncedAt", key, now, verdict)
    if bounce_type not in BOUNCE_TYPES:
        return None  # subscribe requests, challenge mails, virus notices: no outcome
    failure_type, hint = BOUNCE_TYPES[bounce_type]
    said = text(record.get("Details")) or text(record.get("Description"))
    verdict = classify_failure("", said, hint=hint, failure_type=failure_type)
    return _observe(Seen.FAILED, record, recipient, "BouncedAt", key, now, verdict)


def _observe(
    seen: Seen,
    record: dict[str, Any],
    recipient: str,
    when: str,
    key: str,
    now: dt.datetime,
    verdict: Verdict | None = None,
) -> Observation:
    metadata = obj(record.get("Metadata"))
    ref = MessageRef(
        verp=text(metadata.get("mailcast_verp")),
        envid=text(metadata.get("mailcast_envid")),
        message_id_header=text(metadata.get("mailcast_message_id")),
        address=recipient,
    )
    return observe(
        seen,
        ref,
        at=timestamp(record.get(when), now),
        source=SOURCE,
        source_key=f"{SOURCE}:{key}:{recipient}",
        verdict=verdict,
    )
