"""Amazon SNS message signatures, checked against certificates from settings, never fetched.

SNS signs a canonical string of the message's fields (SignatureVersion 1: SHA1withRSA,
2: SHA256withRSA) with the key of the certificate at SigningCertURL. mailcast downloads
nothing at run time: the URL must name an SNS host over https, and the signature must verify
with one of the trusted certificates an operator put in `web.webhooks.ses_certificates`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mailcast.feedback.webhooks.common import Malformed, Refused

NOTIFICATION = "Notification"
SUBSCRIPTION_TYPES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")

# The fields each message type signs, in the order of the canonical string (SNS docs).
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    **{
        kind: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
        for kind in SUBSCRIPTION_TYPES
    },
}
OPTIONAL_FIELDS = frozenset({"Subject"})
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
# sns.<region>.amazonaws.com, and the China partition's amazonaws.com.cn.
CERT_HOST = re.compile(r"^sns\.[a-z0-9-]{1,40}\.amazonaws\.com(?:\.cn)?$")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A verified SNS message."""

    type: str
    message_id: str
    topic_arn: str
    message: str
    timestamp: str


def canonical_string(fields: dict[str, Any]) -> bytes:
    """The bytes SNS signs: "Name\\nvalue\\n" for each signed field present, in order."""
    kind = str(fields.get("Type", ""))
    lines = []
    for name in SIGNED_FIELDS.get(kind, ()):
        if name in fields and fields[name] is not None:
            lines.append(f"{name}\n{fields[name]}\n")
    return "".join(lines).encode()


@functools.lru_cache(maxsize=8)
def _certificates(path: Path, _mtime: float) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_pem_x509_certificates(path.read_bytes()))


def trusted_certificates(path: Path | None) -> tuple[x509.Certificate, ...]:
    """The certificates in the PEM file; reread only when the file changes."""
    if path is None:
        raise Refused("the SES webhook is not configured (web.webhooks.ses_certificates)")
    try:
        return _certificates(path, path.stat().st_mtime)
    except (OSError, ValueError) as exc:
        raise Refused(f"the trusted SNS certificates cannot be read from {path}: {exc}") from exc


def verify(
    fields: Any,
    certificates: tuple[x509.Certificate, ...],
    now: dt.datetime,
    topics: list[str] | None = None,
) -> Envelope:
    """The envelope, once its signature is proven; Refused otherwise."""
    if not isinstance(fields, dict):
        raise Malformed("expected an SNS message: a JSON object")
    kind = _kind(fields)
    _check_present(fields, kind)
    _check_cert_url(str(fields["SigningCertURL"]))
    _check_signature(fields, certificates, now)
    if topics and fields["TopicArn"] not in topics:
        raise Refused(
            f"the SNS topic {fields['TopicArn']} is not one of web.webhooks.ses_topic_arns"
        )
    return Envelope(
        type=kind,
        message_id=str(fields["MessageId"]),
        topic_arn=str(fields["TopicArn"]),
        message=str(fields["Message"]),
        timestamp=str(fields["Timestamp"]),
    )


def _kind(fields: dict[str, Any]) -> str:
    kind = fields.get("Type")
    if kind not in SIGNED_FIELDS:
        raise Refused(f"not a signed SNS message (Type {kind!r})")
    return str(kind)


def _check_present(fields: dict[str, Any], kind: str) -> None:
    needed = [n for n in SIGNED_FIELDS[kind] if n not in OPTIONAL_FIELDS]
    needed += ["Signature", "SignatureVersion", "SigningCertURL"]
    missing = [n for n in needed if not isinstance(fields.get(n), str) or not fields[n]]
    if missing:
        raise Refused(f"the SNS message lacks {', '.join(missing)}")


def _check_cert_url(url: str) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not CERT_HOST.match(host) or parts.username or parts.port:
        raise Refused(f"SigningCertURL {url!r} is not an https URL on an SNS host")


def _check_signature(
    fields: dict[str, Any], certificates: tuple[x509.Certificate, ...], now: dt.datetime
) -> None:
    algorithm = HASHES.get(str(fields["SignatureVersion"]))
    if algorithm is None:
        raise Refused(f"SignatureVersion {fields['SignatureVersion']!r} is not 1 or 2")
    try:
        signature = base64.b64decode(fields["Signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refused("the SNS Signature is not base64") from exc
    message = canonical_string(fields)
    if not any(_signed_by(c, signature, message, algorithm(), now) for c in certificates):
        raise Refused("the SNS signature does not verify with any trusted certificate")


def _signed_by(
    certificate: x509.Certificate,
    signature: bytes,
    message: bytes,
    algorithm: hashes.HashAlgorithm,
    now: dt.datetime,
) -> bool:
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        return False
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, message, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True
