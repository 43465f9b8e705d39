"""The webhook endpoints through the real ASGI app and the real database.

Each provider's request, authenticated as that provider does it, moves the sending log as
the EFS table says; a refused or malformed request answers 401/403/400 and changes nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webapp import Sent, Webhooks, configure, send

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import AddressStatus, FailureReason, FailureType, MessageStatus
from mailcast.feedback.quarantine import address_key
from mailcast.sandbox.mta import SandboxMTA
from mailcast.stats.deployment import deployment
from mailcast.store import addresses as address_store
from mailcast.store import messages as message_store
from mailcast.web.app import create_app
from webhook_signing import (
    SendgridSigner,
    SnsSigner,
    corpus,
    sendgrid_signer,
    ses_bounce,
    ses_delivery,
    ses_notification,
    sns_signer,
)

A, B, C = "a@example.com", "b@example.com", "c@example.com"


@pytest.fixture(scope="module")
def sns_key() -> SnsSigner:
    return sns_signer()


@pytest.fixture(scope="module")
def sendgrid_key() -> SendgridSigner:
    return sendgrid_signer()


@pytest.fixture
def configured(
    ctx: Context, tmp_path: Path, sns_key: SnsSigner, sendgrid_key: SendgridSigner
) -> Context:
    return configure(ctx, tmp_path, sns_key, sendgrid_key)


@pytest.fixture
def client(configured: Context) -> Iterator[TestClient]:
    with TestClient(create_app(configured)) as test_client:
        yield test_client


@pytest.fixture
def hooks(client: TestClient, sns_key: SnsSigner, sendgrid_key: SendgridSigner) -> Webhooks:
    return Webhooks(client, sns_key, sendgrid_key)


@pytest.fixture
def efs_sent(ctx: Context, scenario: Scenario, mta: SandboxMTA) -> Sent:
    """Three messages relayed in EFS mode: pending until their outcome is reported."""
    return send(ctx, scenario, [A, B, C])


def _statuses(sent: Sent) -> dict[str, str]:
    return {address: row["status"] for address, row in sent.log().items()}


def _unchanged(sent: Sent) -> dict[str, str]:
    """What the log of `efs_sent` says before any feedback: relayed, outcome unknown (EFS)."""
    return {A: MessageStatus.PENDING, B: MessageStatus.PENDING, C: MessageStatus.PENDING}


# --- generic ----------------------------------------------------------------------------


def test_generic_events_move_the_sending_log(hooks: Webhooks, efs_sent: Sent) -> None:
    response = hooks.generic(
        {
            "events": [
                {"verp": efs_sent.verp(A), "recipient": A, "event": "delivered"},
                {
                    "message_id": efs_sent.message_id(B),
                    "recipient": B,
                    "event": "bounce",
                    "bounce_type": "hard",
                    "status": "5.1.1",
                    "diagnostic": "550 5.1.1 user unknown",
                },
                {"envid": efs_sent.envid(C), "recipient": C, "event": "deferred"},
            ]
        }
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "received": 3,
        "applied": 3,
        "duplicates": 0,
        "unmatched": 0,
        "deferred": 0,
    }
    log = efs_sent.log()
    assert log[A]["status"] == MessageStatus.SENT
    assert (log[B]["status"], log[B]["failure_type"]) == (MessageStatus.FAILED, FailureType.HARD)
    assert log[B]["failure_reason"] == FailureReason.USER_UNKNOWN
    # A delay is a soft failure in EFS mode (the MTA retries it, mailcast does not).
    assert (log[C]["status"], log[C]["failure_type"]) == (MessageStatus.FAILED, FailureType.SOFT)


def test_the_same_webhook_twice_changes_nothing_more(hooks: Webhooks, efs_sent: Sent) -> None:
    payload = {"events": [{"verp": efs_sent.verp(A), "recipient": A, "event": "bounce"}]}
    assert hooks.generic(payload).json()["applied"] == 1
    kpis = deployment(efs_sent.ctx, efs_sent.delivery_id).kpis

    again = hooks.generic(payload).json()

    assert (again["applied"], again["duplicates"]) == (0, 1)
    assert deployment(efs_sent.ctx, efs_sent.delivery_id).kpis == kpis


def test_a_forged_key_or_someone_elses_recipient_matches_nothing(
    hooks: Webhooks, efs_sent: Sent
) -> None:
    forged = efs_sent.verp(A).replace("-", "-1", 1)
    response = hooks.generic(
        {
            "events": [
                {"verp": forged, "recipient": A, "event": "bounce"},
                {"verp": efs_sent.verp(A), "recipient": B, "event": "bounce"},
            ]
        }
    )
    assert response.json()["unmatched"] == 2
    assert _statuses(efs_sent) == _unchanged(efs_sent)


def test_a_message_on_the_wire_is_left_for_the_providers_retry(
    ctx: Context, clock: ManualClock, hooks: Webhooks, efs_sent: Sent
) -> None:
    bounce = {"verp": efs_sent.verp(A), "recipient": A, "event": "bounce", "bounce_type": "soft"}
    assert hooks.generic({"events": [bounce]}).json()["applied"] == 1
    clock.advance(dt.timedelta(hours=1))  # the soft failure's retry is due
    with ctx.db.write() as conn:
        [claimed] = message_store.claim_batch(
            conn, efs_sent.delivery_id, "w1", clock.now(), clock.now() + dt.timedelta(minutes=1), 10
        )
    delivered = {"events": [{"verp": efs_sent.verp(A), "recipient": A, "event": "delivered"}]}

    busy = hooks.generic(delivered)

    assert busy.status_code == 503  # the provider sends it again later: nothing is lost
    assert busy.headers["Retry-After"] == "60"
    assert busy.json()["deferred"] == 1
    assert efs_sent.status(A) == MessageStatus.FAILED
    with ctx.db.write() as conn:
        message_store.release_claims(conn, "w1", [claimed.id], clock.now())
    again = hooks.generic(delivered)
    assert (again.status_code, again.json()["applied"]) == (200, 1)
    assert efs_sent.status(A) == MessageStatus.SENT


def test_generic_with_a_wrong_or_missing_signature_is_refused(
    client: TestClient, hooks: Webhooks, efs_sent: Sent
) -> None:
    payload = {"events": [{"verp": efs_sent.verp(A), "recipient": A, "event": "bounce"}]}

    wrong = hooks.generic(payload, secret="not-the-secret")
    missing = client.post("/webhooks/generic", json=payload)

    assert wrong.status_code == 403
    assert "does not match" in wrong.json()["error"]
    assert missing.status_code == 401
    assert "X-Mailcast-Signature" in missing.json()["error"]
    assert "X-Mailcast-Signature" in missing.headers["WWW-Authenticate"]
    assert _statuses(efs_sent) == _unchanged(efs_sent)


def test_generic_malformed_json_or_one_bad_event_is_400_and_applies_nothing(
    hooks: Webhooks, efs_sent: Sent
) -> None:
    good = {"verp": efs_sent.verp(A), "recipient": A, "event": "delivered"}
    bad = {"verp": efs_sent.verp(B), "recipient": B, "event": "exploded"}

    batch = hooks.generic({"events": [good, bad]})
    not_json = hooks.generic_raw(b"{not json")

    assert batch.status_code == 400
    assert "events[1].event" in batch.json()["error"]
    assert not_json.status_code == 400
    assert "not valid JSON" in not_json.json()["error"]
    assert _statuses(efs_sent) == _unchanged(efs_sent)


def test_an_unconfigured_provider_refuses_everything(ctx: Context, efs_sent: Sent) -> None:
    with TestClient(create_app(ctx)) as bare:
        for provider in ("generic", "ses", "sendgrid", "postmark"):
            response = bare.post(f"/webhooks/{provider}", content=b"[]")
            assert response.status_code == 403, provider
            assert "not configured" in response.json()["error"]


def test_a_body_over_the_limit_is_refused(
    configured: Context, client: TestClient, hooks: Webhooks, efs_sent: Sent
) -> None:
    configured.settings.web.max_webhook_bytes = 2048
    event = {"verp": efs_sent.verp(A), "recipient": A, "event": "bounce", "diagnostic": "x" * 4096}
    response = hooks.generic({"events": [event]})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "web.max_webhook_bytes" in response.json()["detail"]
    assert _statuses(efs_sent) == _unchanged(efs_sent)


# --- Amazon SES through SNS -------------------------------------------------------------


def _ses_for(sent: Sent, notification: dict[str, Any], address: str) -> dict[str, Any]:
    """An SES notification, rewritten to be about one of our messages."""
    mail = notification["mail"]
    mail["destination"] = [address]
    mail["headers"] = [
        {"name": "Message-ID", "value": sent.message_id(address)},
        {"name": "To", "value": address},
    ]
    for section, field in (
        ("bounce", "bouncedRecipients"),
        ("complaint", "complainedRecipients"),
    ):
        if section in notification:
            notification[section][field][0]["emailAddress"] = address
    if "delivery" in notification:
        notification["delivery"]["recipients"] = [address]
    return notification


def test_ses_notifications_signed_by_the_trusted_certificate_are_applied(
    hooks: Webhooks, efs_sent: Sent
) -> None:
    bounce = hooks.ses(_ses_for(efs_sent, ses_bounce(), A))
    delivery = hooks.ses(_ses_for(efs_sent, ses_delivery(), B))

    assert (bounce.status_code, bounce.json()["applied"]) == (200, 1), bounce.text
    assert (delivery.status_code, delivery.json()["applied"]) == (200, 1), delivery.text
    log = efs_sent.log()
    assert (log[A]["status"], log[A]["failure_type"]) == (MessageStatus.FAILED, FailureType.HARD)
    assert log[B]["status"] == MessageStatus.SENT


def test_ses_transient_bounce_is_a_soft_failure(hooks: Webhooks, efs_sent: Sent) -> None:
    notification = _ses_for(efs_sent, ses_bounce(), A)
    notification["bounce"]["bounceType"] = "Transient"
    assert hooks.ses(notification).json()["applied"] == 1
    row = efs_sent.log()[A]
    assert (row["status"], row["failure_type"]) == (MessageStatus.FAILED, FailureType.SOFT)


def test_an_altered_ses_message_is_refused_and_changes_nothing(
    hooks: Webhooks, efs_sent: Sent
) -> None:
    envelope = hooks.sns.envelope(_ses_for(efs_sent, ses_delivery(), A))
    altered = json.loads(envelope["Message"])
    altered["notificationType"] = "Bounce"
    altered["bounce"] = _ses_for(efs_sent, ses_bounce(), A)["bounce"]
    envelope["Message"] = json.dumps(altered)

    response = hooks.sns_post(envelope)

    assert response.status_code == 403
    assert "does not verify" in response.json()["error"]
    assert _statuses(efs_sent) == _unchanged(efs_sent)


def test_ses_signed_with_a_wrong_certificate_is_refused(hooks: Webhooks, efs_sent: Sent) -> None:
    response = hooks.ses(_ses_for(efs_sent, ses_bounce(), A), signer=sns_signer())
    assert response.status_code == 403
    assert _statuses(efs_sent) == _unchanged(efs_sent)


def test_ses_with_a_cert_url_off_sns_is_refused(hooks: Webhooks, efs_sent: Sent) -> None:
    notification = _ses_for(efs_sent, ses_bounce(), A)
    envelope = hooks.sns.envelope(notification, cert_url="https://attacker.example/sns.pem")
    response = hooks.sns_post(envelope)
    assert response.status_code == 403
    assert "SigningCertURL" in response.json()["error"]
    assert _statuses(efs_sent) == _unchanged(efs_sent)


def test_the_real_aws_signed_envelope_is_refused_when_its_cert_is_not_trusted(
    hooks: Webhooks, efs_sent: Sent
) -> None:
    response = hooks.sns_post(corpus("json-amazonses-02.json"))
    assert response.status_code == 403


def test_an_unsigned_ses_notification_is_refused(hooks: Webhooks, efs_sent: Sent) -> None:
    raw = _ses_for(efs_sent, ses_bounce(), A)
    response = hooks.client.post("/webhooks/ses", json=raw)
    assert response.status_code == 403
    assert _statuses(efs_sent) == _unchanged(efs_sent)


def test_a_subscription_confirmation_is_logged_not_fetched(
    hooks: Webhooks, efs_sent: Sent, caplog: Any
) -> None:
    envelope = hooks.sns.envelope("confirm me", kind="SubscriptionConfirmation")
    response = hooks.sns_post(envelope)
    assert response.status_code == 200
    assert response.json() == {"status": "logged", "type": "SubscriptionConfirmation"}
    assert "SubscribeURL" in caplog.text
    assert _statuses(efs_sent) == _unchanged(efs_sent)


def test_an_ses_complaint_denylists_the_address(hooks: Webhooks, efs_sent: Sent) -> None:
    response = hooks.ses(_ses_for(efs_sent, ses_notification("json-amazonses-03.json"), A))
    assert response.json()["applied"] == 1
    with efs_sent.ctx.db.read() as conn:
        state = address_store.get_address_state(conn, address_key(A))
    assert state is not None and state["status"] == AddressStatus.DENYLIST


# --- SendGrid ---------------------------------------------------------------------------


def _sendgrid_for(sent: Sent, name: str, address: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = copy.deepcopy(corpus(name))
    for event in events:
        event["email"] = address
        event["smtp-id"] = sent.message_id(address)
    return events


def test_sendgrid_signed_events_are_applied(hooks: Webhooks, efs_sent: Sent) -> None:
    delivered = hooks.sendgrid(_sendgrid_for(efs_sent, "json-sendgrid-13.json", A))
    blocked = hooks.sendgrid(_sendgrid_for(efs_sent, "json-sendgrid-12.json", B))

    assert (delivered.status_code, delivered.json()["applied"]) == (200, 1), delivered.text
    assert blocked.json()["applied"] == 1
    log = efs_sent.log()
    assert log[A]["status"] == MessageStatus.SENT
    assert (log[B]["status"], log[B]["failure_type"]) == (MessageStatus.FAILED, FailureType.SOFT)
    assert log[B]["failure_reason"] == FailureReason.MAILBOX_FULL


def test_sendgrid_with_a_bad_signature_is_refused(hooks: Webhooks, efs_sent: Sent) -> None:
    body = json.dumps(_sendgrid_for(efs_sent, "json-sendgrid-12.json", A)).encode()
    headers = hooks.sendgrid_key.headers(body.replace(b"blocked", b"bounce"))
    response = hooks.client.post("/webhooks/sendgrid", content=body, headers=headers)
    unsigned = hooks.client.post("/webhooks/sendgrid", content=body)
    assert response.status_code == 403
    assert unsigned.status_code == 401
    assert _statuses(efs_sent) == _unchanged(efs_sent)


def test_sendgrid_bounce_list_entries_without_a_key_match_nothing(
    hooks: Webhooks, efs_sent: Sent
) -> None:
    entries = corpus("json-sendgrid-01.json")
    entries[0]["email"] = A
    response = hooks.sendgrid(entries)
    # Only a signed key names a message: an address alone is never applied at random.
    assert response.json()["unmatched"] == 1
    assert _statuses(efs_sent) == _unchanged(efs_sent)


# --- Postmark ---------------------------------------------------------------------------


def _postmark_bounce(sent: Sent, address: str, kind: str = "HardBounce") -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": kind,
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": address,
        "BouncedAt": "2026-01-05T08:00:00Z",
        "Metadata": {"mailcast_envid": sent.envid(address)},
    }


def test_postmark_records_are_applied(hooks: Webhooks, efs_sent: Sent) -> None:
    bounce = hooks.postmark(_postmark_bounce(efs_sent, A))
    delivery = hooks.postmark(
        {
            "RecordType": "Delivery",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Recipient": B,
            "DeliveredAt": "2026-01-05T08:00:00Z",
            "Metadata": {"mailcast_message_id": efs_sent.message_id(B)},
        }
    )
    assert bounce.json()["applied"] == 1, bounce.text
    assert delivery.json()["applied"] == 1, delivery.text
    log = efs_sent.log()
    assert (log[A]["status"], log[A]["failure_type"]) == (MessageStatus.FAILED, FailureType.HARD)
    assert log[B]["status"] == MessageStatus.SENT


def test_postmark_with_wrong_or_no_credentials_is_refused(hooks: Webhooks, efs_sent: Sent) -> None:
    record = _postmark_bounce(efs_sent, A)
    wrong = hooks.postmark(record, password="guess")
    missing = hooks.client.post("/webhooks/postmark", json=record)
    assert wrong.status_code == 403
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Basic")
    assert _statuses(efs_sent) == _unchanged(efs_sent)


# --- the app itself ---------------------------------------------------------------------


def test_health_and_the_openapi_document(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/webhooks/generic", "/webhooks/ses", "/webhooks/sendgrid", "/webhooks/postmark"} <= (
        set(paths)
    )
