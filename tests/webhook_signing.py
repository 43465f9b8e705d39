"""Test-side signers for the providers' webhooks: a private SNS certificate, a SendGrid key.

The SNS canonical string is written out here from the SNS documentation, independently of
mailcast's own, so that a mistake in one is caught by the other.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from conftest import corpus_file

CERT_URL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-test.pem"
TOPIC = "arn:aws:sns:us-west-2:123456789012:SES-EJ-B"
_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_SUBSCRIPTION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)


def corpus(name: str) -> Any:
    """A real webhook payload of the shared corpus (the calling test skips where it is absent)."""
    return json.loads(corpus_file(f"webhooks/{name}").read_text())


def _ses_mail(address: str) -> dict[str, Any]:
    return {
        "timestamp": "2026-11-20T09:00:00.000Z",
        "source": "news@mailcast.example",
        "messageId": "0101019a1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d-000000",
        "destination": [address],
        "headersTruncated": False,
        "headers": [{"name": "To", "value": address}],
    }


def ses_bounce(address: str = "kim@example.com") -> dict[str, Any]:
    """A permanent SES bounce written here, in the form AWS documents for SES notifications."""
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": "2026-11-20T09:00:01.000Z",
            "feedbackId": "0101019a1b2c3d4f-0000-4000-8000-000000000001-000000",
            "reportingMTA": "dsn; a1-2.smtp-out.eu-west-1.amazonses.com",
        },
        "mail": _ses_mail(address),
    }


def ses_delivery(address: str = "kim@example.com") -> dict[str, Any]:
    """An SES delivery notification written here, in the form AWS documents."""
    return {
        "notificationType": "Delivery",
        "delivery": {
            "timestamp": "2026-11-20T09:00:02.000Z",
            "processingTimeMillis": 1200,
            "recipients": [address],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a1-2.smtp-out.eu-west-1.amazonses.com",
        },
        "mail": _ses_mail(address),
    }


def ses_notification(name: str) -> dict[str, Any]:
    """A corpus SES notification, unwrapped from its SNS envelope when it has one."""
    payload = corpus(name)
    return json.loads(payload["Message"]) if "Message" in payload else payload


@dataclass
class SnsSigner:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def envelope(
        self,
        message: dict[str, Any] | str,
        *,
        version: str = "1",
        kind: str = "Notification",
        topic: str = TOPIC,
        cert_url: str = CERT_URL,
        subject: str | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": "2026-01-05T09:00:00.000Z",
            "SignatureVersion": version,
            "SigningCertURL": cert_url,
        }
        if subject is not None:
            fields["Subject"] = subject
        if kind != "Notification":
            fields["Token"] = "2336412f37fb687f5d51e6e2425"
            fields["SubscribeURL"] = (
                "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"
            )
        fields["Signature"] = self.sign(fields, version)
        return fields

    def sign(self, fields: dict[str, Any], version: str = "1") -> str:
        names = _NOTIFICATION_FIELDS if fields["Type"] == "Notification" else _SUBSCRIPTION_FIELDS
        canonical = "".join(f"{n}\n{fields[n]}\n" for n in names if n in fields)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(canonical.encode(), padding.PKCS1v15(), algorithm)
        return base64.b64encode(signature).decode()


def sns_signer(
    not_before: dt.datetime = dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    not_after: dt.datetime = dt.datetime(2040, 1, 1, tzinfo=dt.UTC),
) -> SnsSigner:
    """A key pair and a self-signed certificate standing in for SNS's signing certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return SnsSigner(key, certificate)


@dataclass
class SendgridSigner:
    key: ec.EllipticCurvePrivateKey

    def public_key_base64(self) -> str:
        """The verification key the way SendGrid's settings page shows it."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def public_key_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def headers(self, body: bytes, timestamp: str = "1767603600") -> dict[str, str]:
        signature = self.key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }


def sendgrid_signer() -> SendgridSigner:
    return SendgridSigner(ec.generate_private_key(ec.SECP256R1()))
