"""Amazon SES webhooks: SNS signatures checked against trusted certificates, and what SES
notifications (real corpus payloads) say."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from cryptography import x509

from mailcast.domain import FailureReason, FailureType
from mailcast.feedback.observation import Observation, Seen
from mailcast.feedback.webhooks import ses, sns
from mailcast.feedback.webhooks.common import Refused
from webhook_signing import (
    SnsSigner,
    corpus,
    ses_bounce,
    ses_delivery,
    ses_notification,
    sns_signer,
)

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
BOUNCE_DOMAIN = "bounces.mailcast.localhost"


@pytest.fixture(scope="module")
def signer() -> SnsSigner:
    return sns_signer()


@pytest.fixture(scope="module")
def trusted(signer: SnsSigner) -> tuple[x509.Certificate, ...]:
    return (signer.certificate,)


def _one(found: list[Observation]) -> Observation:
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_signature_versions_1_and_2_verify(
    signer: SnsSigner, trusted: tuple[x509.Certificate, ...], version: str
) -> None:
    notification = ses_bounce()
    envelope = signer.envelope(notification, version=version, subject="Amazon SES Bounce")
    verified = sns.verify(envelope, trusted, NOW)
    assert verified.type == "Notification"
    assert json.loads(verified.message) == notification


def test_an_altered_sns_message_is_refused(
    signer: SnsSigner, trusted: tuple[x509.Certificate, ...]
) -> None:
    notification = ses_delivery()
    envelope = signer.envelope(notification)
    notification["notificationType"] = "Bounce"
    for altered in (
        {**envelope, "Message": json.dumps(notification)},
        {**envelope, "TopicArn": envelope["TopicArn"] + "x"},
        {**envelope, "Subject": "added after signing"},
        {**envelope, "SignatureVersion": "2"},
    ):
        with pytest.raises(Refused, match="does not verify"):
            sns.verify(altered, trusted, NOW)


def test_sns_signed_with_an_untrusted_certificate_is_refused(
    trusted: tuple[x509.Certificate, ...],
) -> None:
    stranger = sns_signer()
    with pytest.raises(Refused, match="any trusted certificate"):
        sns.verify(stranger.envelope(ses_bounce()), trusted, NOW)


def test_the_real_aws_signed_corpus_envelope_is_refused_without_awss_certificate(
    trusted: tuple[x509.Certificate, ...],
) -> None:
    with pytest.raises(Refused, match="any trusted certificate"):
        sns.verify(corpus("json-amazonses-02.json"), trusted, NOW)


def test_an_expired_trusted_certificate_verifies_nothing() -> None:
    old = sns_signer(not_after=NOW - dt.timedelta(days=1))
    with pytest.raises(Refused, match="any trusted certificate"):
        sns.verify(old.envelope(ses_bounce()), (old.certificate,), NOW)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-west-2.amazonaws.com/cert.pem",
        "https://sns.us-west-2.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.us-west-2.amazonaws.com/cert.pem",
        "https://s3.amazonaws.com/cert.pem",
        "https://user@sns.us-west-2.amazonaws.com/cert.pem",
        "https://sns.us-west-2.amazonaws.com:8443/cert.pem",
        "file:///etc/ssl/cert.pem",
    ],
)
def test_a_signing_cert_url_off_the_sns_hosts_is_refused(
    signer: SnsSigner, trusted: tuple[x509.Certificate, ...], url: str
) -> None:
    envelope = signer.envelope(ses_bounce(), cert_url=url)
    with pytest.raises(Refused, match="SigningCertURL"):
        sns.verify(envelope, trusted, NOW)


def test_china_partition_cert_hosts_are_sns_hosts(
    signer: SnsSigner, trusted: tuple[x509.Certificate, ...]
) -> None:
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem"
    sns.verify(signer.envelope({"notificationType": "Delivery"}, cert_url=url), trusted, NOW)


def test_subscription_confirmations_are_verified_too(
    signer: SnsSigner, trusted: tuple[x509.Certificate, ...]
) -> None:
    envelope = signer.envelope("You have chosen to subscribe", kind="SubscriptionConfirmation")
    assert sns.verify(envelope, trusted, NOW).type == "SubscriptionConfirmation"
    with pytest.raises(Refused, match="does not verify"):
        sns.verify({**envelope, "SubscribeURL": "https://evil.example/"}, trusted, NOW)


def test_unsigned_or_unknown_sns_messages_are_refused(
    signer: SnsSigner, trusted: tuple[x509.Certificate, ...]
) -> None:
    envelope = signer.envelope(ses_bounce())
    with pytest.raises(Refused, match="lacks Signature"):
        sns.verify({k: v for k, v in envelope.items() if k != "Signature"}, trusted, NOW)
    with pytest.raises(Refused, match="not a signed SNS message"):
        sns.verify(ses_bounce(), trusted, NOW)
    with pytest.raises(Refused, match="SignatureVersion"):
        sns.verify({**envelope, "SignatureVersion": "3"}, trusted, NOW)
    with pytest.raises(Refused, match="base64"):
        sns.verify({**envelope, "Signature": "not base64!"}, trusted, NOW)


def test_only_the_configured_topics_are_taken(
    signer: SnsSigner, trusted: tuple[x509.Certificate, ...]
) -> None:
    envelope = signer.envelope(ses_bounce())
    sns.verify(envelope, trusted, NOW, topics=[envelope["TopicArn"]])
    with pytest.raises(Refused, match="ses_topic_arns"):
        sns.verify(envelope, trusted, NOW, topics=["arn:aws:sns:us-east-1:1:other"])


def test_trusted_certificates_come_from_the_configured_pem_file(
    signer: SnsSigner, tmp_path: Any
) -> None:
    path = tmp_path / "sns.pem"
    other = sns_signer()
    path.write_bytes(signer.pem() + other.pem())
    assert len(sns.trusted_certificates(path)) == 2
    with pytest.raises(Refused, match="not configured"):
        sns.trusted_certificates(None)
    with pytest.raises(Refused, match="cannot be read"):
        sns.trusted_certificates(tmp_path / "missing.pem")


def _ses(name: str, **changes: Any) -> list[Observation]:
    payload = ses_notification(name)
    for section, values in changes.items():
        payload[section] = {**payload[section], **values}
    return ses.observations(payload, NOW)


def test_ses_permanent_bounce_is_hard() -> None:
    bounce = _one(_ses("json-amazonses-01.json"))
    assert (bounce.seen, bounce.failure_type) == (Seen.FAILED, FailureType.HARD)
    assert (bounce.reason, bounce.failure_reason) == ("userunknown", FailureReason.USER_UNKNOWN)
    assert (bounce.status, bounce.diagnostic) == ("5.1.1", "550 5.1.1 user unknown")
    assert bounce.ref.address == "bounce@simulator.amazonses.com"
    assert bounce.at == dt.datetime(2016, 10, 21, 0, 6, 40, 502000, tzinfo=dt.UTC)
    assert bounce.source == "ses"


@pytest.mark.parametrize("bounce_type", ["Transient", "Undetermined"])
def test_ses_transient_and_undetermined_bounces_are_soft(bounce_type: str) -> None:
    bounce = _one(_ses("json-amazonses-01.json", bounce={"bounceType": bounce_type}))
    assert (bounce.seen, bounce.failure_type) == (Seen.FAILED, FailureType.SOFT)


def test_ses_bounce_subtype_names_the_cause() -> None:
    recipients = [{"emailAddress": "full@example.com", "action": "failed", "status": "5.0.0"}]
    bounce = _one(
        _ses(
            "json-amazonses-01.json",
            bounce={
                "bounceType": "Transient",
                "bounceSubType": "MailboxFull",
                "bouncedRecipients": recipients,
            },
        )
    )
    assert (bounce.reason, bounce.failure_reason) == ("mailboxfull", FailureReason.MAILBOX_FULL)


def test_ses_complaint_and_delivery() -> None:
    complaint = _one(_ses("json-amazonses-03.json"))
    assert (complaint.seen, complaint.ref.address) == (
        Seen.COMPLAINED,
        "complaint@simulator.amazonses.com",
    )
    delivery = _one(_ses("json-amazonses-04.json"))
    assert (delivery.seen, delivery.ref.address) == (
        Seen.DELIVERED,
        "success@simulator.amazonses.com",
    )
    assert delivery.failure_type is None


def test_ses_names_the_message_by_its_message_id_header_and_our_return_path() -> None:
    bounce = _one(_ses("json-amazonses-06.json"))
    assert bounce.ref.message_id_header == "<xxx.xx@xx..x>"
    # The envelope sender is offered as a VERP key; correlation checks its signature.
    assert bounce.ref.verp == "xxx@xxx"
    ours = f"b-1a-0123456789ab@{BOUNCE_DOMAIN}"
    assert _one(_ses("json-amazonses-06.json", mail={"source": ours})).ref.verp == ours


def test_ses_same_notification_gives_the_same_source_keys() -> None:
    first = _ses("json-amazonses-01.json")
    again = _ses("json-amazonses-01.json")
    assert [o.source_key for o in first] == [o.source_key for o in again]
    complaint_and_delivery = _ses("json-amazonses-05.json") + _ses("json-amazonses-03.json")
    assert len({o.source_key for o in complaint_and_delivery}) == 2


def test_ses_other_event_types_say_nothing() -> None:
    assert ses.observations({"eventType": "Open", "mail": {}}, NOW) == []
    assert ses.observations({"notificationType": "AmazonSnsSubscriptionSucceeded"}, NOW) == []


def test_ses_delivery_delay_is_a_delay() -> None:
    payload = {
        "eventType": "DeliveryDelay",
        "mail": {"messageId": "m1"},
        "deliveryDelay": {
            "timestamp": "2026-01-05T08:00:00Z",
            "delayType": "MailboxFull",
            "delayedRecipients": [
                {"emailAddress": "a@example.com", "status": "4.2.2", "diagnosticCode": "smtp; 452"}
            ],
        },
    }
    delay = _one(ses.observations(payload, NOW))
    assert (delay.seen, delay.failure_type, delay.status) == (
        Seen.DELAYED,
        FailureType.SOFT,
        "4.2.2",
    )
