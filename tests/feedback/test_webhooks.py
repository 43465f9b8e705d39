"""Generic, SendGrid and Postmark webhooks: who may post (signatures, secrets) and what their
payloads say. Amazon SES is in test_webhooks_ses.py."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from mailcast.domain import FailureReason, FailureType
from mailcast.feedback.observation import Observation, Seen
from mailcast.feedback.webhooks import generic, postmark, sendgrid
from mailcast.feedback.webhooks.common import Malformed, Refused, Unauthenticated
from webhook_signing import (
    SendgridSigner,
    corpus,
    sendgrid_signer,
)

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def sg() -> SendgridSigner:
    return sendgrid_signer()


def _one(found: list[Observation]) -> Observation:
    assert len(found) == 1, found
    return found[0]


# --- generic ----------------------------------------------------------------------------


def _generic(*events: dict[str, Any]) -> list[Observation]:
    return generic.observations({"events": list(events)}, NOW)


def test_generic_signature_is_an_hmac_of_the_exact_body() -> None:
    body = b'{"events": []}'
    generic.verify(body, generic.sign(body, "s3cret"), "s3cret")
    generic.verify(body, generic.sign(body, "s3cret").removeprefix("sha256=").upper(), "s3cret")
    with pytest.raises(Refused, match="does not match"):
        generic.verify(body + b" ", generic.sign(body, "s3cret"), "s3cret")
    with pytest.raises(Refused, match="does not match"):
        generic.verify(body, generic.sign(body, "other"), "s3cret")


def test_generic_without_a_signature_or_a_configured_secret_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="X-Mailcast-Signature"):
        generic.verify(b"{}", None, "s3cret")
    with pytest.raises(Refused, match="not configured"):
        generic.verify(b"{}", generic.sign(b"{}", ""), None)


def test_generic_events_become_observations() -> None:
    ref = {"verp": "b-1-abc@x", "recipient": "A@Example.COM"}
    delivered, hard, soft, deferred, complaint = _generic(
        {**ref, "event": "delivered"},
        {**ref, "event": "bounce", "bounce_type": "hard", "status": "5.1.1"},
        {**ref, "event": "bounce", "diagnostic": "452 4.2.2 Mailbox full"},
        {**ref, "event": "deferred", "diagnostic": "421 try again later"},
        {**ref, "event": "complaint"},
    )
    assert delivered.seen is Seen.DELIVERED and delivered.failure_type is None
    assert delivered.ref.address == "A@example.com" and delivered.ref.verp == "b-1-abc@x"
    assert (hard.seen, hard.failure_type, hard.status) == (Seen.FAILED, FailureType.HARD, "5.1.1")
    assert hard.failure_reason is FailureReason.USER_UNKNOWN
    # No bounce_type: the diagnostic decides, with the bounce parser's rules.
    assert (soft.failure_type, soft.failure_reason) == (
        FailureType.SOFT,
        FailureReason.MAILBOX_FULL,
    )
    assert (deferred.seen, deferred.failure_type) == (Seen.DELAYED, FailureType.SOFT)
    assert complaint.seen is Seen.COMPLAINED
    assert len({o.source_key for o in (delivered, hard, soft, deferred, complaint)}) == 5
    assert all(o.source == "generic" and o.at == NOW for o in (delivered, hard, complaint))


def test_generic_source_key_is_stable_and_prefers_the_senders_id() -> None:
    event = {"message_id": "<1.2.x@m>", "recipient": "a@example.com", "event": "delivered"}
    assert _one(_generic(event)).source_key == _one(_generic(dict(event))).source_key
    assert _one(_generic({**event, "id": "evt-42"})).source_key == "generic:evt-42:a@example.com"
    stamped = _one(_generic({**event, "timestamp": "2026-01-04T08:00:00Z"}))
    assert stamped.at == dt.datetime(2026, 1, 4, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([], "JSON object"),
        ({"events": "x"}, "JSON object"),
        ({"events": [1]}, r"events\[0\] is not a JSON object"),
        ({"events": [{"envid": "e", "recipient": "a@x.org", "event": "opened"}]}, "one of"),
        ({"events": [{"envid": "e", "event": "bounce"}]}, "recipient must be"),
        ({"events": [{"recipient": "a@x.org", "event": "bounce"}]}, "names no message"),
        (
            {
                "events": [
                    {"envid": "e", "recipient": "a@x.org", "event": "bounce", "bounce_type": "x"}
                ]
            },
            "hard or soft",
        ),
    ],
)
def test_generic_bad_events_are_named(payload: Any, error: str) -> None:
    with pytest.raises(Malformed, match=error):
        generic.observations(payload, NOW)


# --- SendGrid ---------------------------------------------------------------------------


def test_sendgrid_signature_covers_timestamp_and_body(sg: SendgridSigner) -> None:
    body = json.dumps(corpus("json-sendgrid-13.json")).encode()
    headers = sg.headers(body)
    signature = headers[sendgrid.SIGNATURE_HEADER]
    stamp = headers[sendgrid.TIMESTAMP_HEADER]
    for key in (sg.public_key_base64(), sg.public_key_pem()):
        sendgrid.verify(body, signature, stamp, key)
    with pytest.raises(Refused, match="does not match"):
        sendgrid.verify(
            body.replace(b"delivered", b"bounce"), signature, stamp, sg.public_key_pem()
        )
    with pytest.raises(Refused, match="does not match"):
        sendgrid.verify(body, signature, "1767603601", sg.public_key_pem())
    with pytest.raises(Refused, match="does not match"):
        sendgrid.verify(body, signature, stamp, sendgrid_signer().public_key_pem())
    with pytest.raises(Refused, match="does not match"):
        sendgrid.verify(body, "bm90IGEgc2lnbmF0dXJl", stamp, sg.public_key_pem())


def test_sendgrid_without_headers_or_key_is_refused(sg: SendgridSigner) -> None:
    with pytest.raises(Unauthenticated, match="Signature"):
        sendgrid.verify(b"[]", None, "1", sg.public_key_pem())
    with pytest.raises(Refused, match="not configured"):
        sendgrid.verify(b"[]", "x", "1", None)
    with pytest.raises(Refused, match="not a public key"):
        sendgrid.verify(b"[]", "x", "1", base64.b64encode(b"junk").decode())


def _sg(name: str) -> list[Observation]:
    return sendgrid.observations(corpus(name), NOW)


def test_sendgrid_event_webhook_batches() -> None:
    blocked = _one(_sg("json-sendgrid-12.json"))
    assert (blocked.seen, blocked.failure_type) == (Seen.FAILED, FailureType.SOFT)
    assert (blocked.reason, blocked.failure_reason) == ("mailboxfull", FailureReason.MAILBOX_FULL)
    assert blocked.ref.message_id_header == "<201709042010.v84KAQ5T032530@example.nyaan.jp>"
    assert blocked.source_key == "sendgrid:S4wr46YHS0qr3BKhawTQjQ:mailboxfull@example.jp"
    assert blocked.at == dt.datetime.fromtimestamp(1504555832, dt.UTC)
    delivered = _one(_sg("json-sendgrid-13.json"))
    assert (delivered.seen, delivered.ref.address) == (Seen.DELIVERED, "kijitora@example.com")
    disabled = _one(_sg("json-sendgrid-14.json"))
    assert (disabled.failure_type, disabled.failure_reason) == (
        FailureType.SOFT,
        FailureReason.ACCOUNT_DISABLED,
    )
    for name in ("json-sendgrid-15.json", "json-sendgrid-16.json", "json-sendgrid-17.json"):
        assert _one(_sg(name)).seen is Seen.COMPLAINED


def test_sendgrid_bounce_list_entries_are_bounces() -> None:
    unknown = _one(_sg("json-sendgrid-01.json"))
    assert (unknown.seen, unknown.failure_type, unknown.failure_reason) == (
        Seen.FAILED,
        FailureType.HARD,
        FailureReason.USER_UNKNOWN,
    )
    assert unknown.at == dt.datetime(2011, 10, 8, 12, 32, 14, tzinfo=dt.UTC)
    unknown_again, full = _sg("json-sendgrid-02.json")
    assert unknown_again.failure_type is FailureType.HARD
    assert (full.failure_type, full.failure_reason) == (
        FailureType.SOFT,
        FailureReason.MAILBOX_FULL,
    )
    every = [o for n in range(1, 12) for o in _sg(f"json-sendgrid-{n:02d}.json")]
    assert len(every) == 14 and all(o.seen is Seen.FAILED for o in every)
    assert len({o.source_key for o in every}) == 14


def test_sendgrid_bounce_type_bounce_is_permanent_blocked_is_temporary() -> None:
    base = {"email": "a@example.com", "event": "bounce", "sg_event_id": "e1", "reason": "550 no"}
    assert _one(sendgrid.observations([{**base, "type": "bounce"}], NOW)).failure_type is (
        FailureType.HARD
    )
    assert _one(sendgrid.observations([{**base, "type": "blocked"}], NOW)).failure_type is (
        FailureType.SOFT
    )


def test_sendgrid_deferred_dropped_and_ignored_events() -> None:
    events = [
        {"email": "a@example.com", "event": "deferred", "response": "451 4.4.1 try later"},
        {"email": "b@example.com", "event": "dropped", "reason": "Bounced Address"},
        {"email": "c@example.com", "event": "dropped", "reason": "Spam Content"},
        {"email": "d@example.com", "event": "open"},
        {"email": "e@example.com", "event": "processed"},
        {"event": "bounce", "reason": "no address"},
    ]
    deferred, dropped_hard, dropped_other = sendgrid.observations(events, NOW)
    assert (deferred.seen, deferred.failure_type) == (Seen.DELAYED, FailureType.SOFT)
    assert (dropped_hard.seen, dropped_hard.failure_type) == (Seen.FAILED, FailureType.HARD)
    assert dropped_hard.reason == "suppressed"
    assert dropped_other.failure_type is FailureType.SOFT


def test_sendgrid_custom_args_name_the_message() -> None:
    event = {
        "email": "a@example.com",
        "event": "delivered",
        "mailcast_verp": "b-1-0123456789ab@bounces.x",
        "mailcast_envid": "b-1-0123456789ab",
        "mailcast_message_id": "<1.1.abc@m>",
        "smtp-id": "<other@relay>",
    }
    ref = _one(sendgrid.observations([event], NOW)).ref
    assert (ref.verp, ref.envid, ref.message_id_header) == (
        "b-1-0123456789ab@bounces.x",
        "b-1-0123456789ab",
        "<1.1.abc@m>",
    )


def test_sendgrid_malformed_batches() -> None:
    with pytest.raises(Malformed, match="JSON array"):
        sendgrid.observations("x", NOW)
    with pytest.raises(Malformed, match=r"event \[1\]"):
        sendgrid.observations([{"email": "a@x.org", "event": "delivered"}, 3], NOW)


# --- Postmark ---------------------------------------------------------------------------

# The shapes of Postmark's webhook documentation (Bounce, Delivery, SpamComplaint).
POSTMARK_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Description": "The server was unable to deliver your message (ex: unknown user).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "Email": "john@example.com",
    "From": "sender@example.com",
    "BouncedAt": "2019-11-05T16:33:54.9070259Z",
    "Metadata": {"mailcast_envid": "b-1-0123456789ab", "mailcast_message_id": "<1.1.x@m>"},
    "MessageStream": "outbound",
}
POSTMARK_DELIVERY = {
    "RecordType": "Delivery",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Recipient": "john@example.com",
    "DeliveredAt": "2019-11-05T16:33:54.9070259Z",
    "Details": "Test delivery webhook details",
    "Metadata": {"mailcast_envid": "b-1-0123456789ab"},
    "MessageStream": "outbound",
}
POSTMARK_COMPLAINT = {
    **POSTMARK_BOUNCE,
    "RecordType": "SpamComplaint",
    "Type": "SpamComplaint",
    "TypeCode": 512,
}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_postmark_basic_auth_or_secret_header() -> None:
    postmark.verify(_basic("pm", "pw"), None, "pm", "pw", None)
    postmark.verify(None, "hdr", None, None, "hdr")
    postmark.verify(_basic("pm", "pw"), "wrong", "pm", "pw", "hdr")
    for authorization, header in (
        (_basic("pm", "nope"), None),
        (_basic("other", "pw"), None),
        ("Bearer pw", None),
        ("Basic !!!", None),
        (None, "wrong"),
    ):
        with pytest.raises(Refused, match="wrong"):
            postmark.verify(authorization, header, "pm", "pw", "hdr")


def test_postmark_without_credentials_or_configuration_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="missing"):
        postmark.verify(None, None, "pm", "pw", None)
    with pytest.raises(Refused, match="not configured"):
        postmark.verify(_basic("pm", "pw"), None, None, None, None)


def test_postmark_records() -> None:
    hard = _one(postmark.observations(POSTMARK_BOUNCE, NOW))
    assert (hard.seen, hard.failure_type, hard.failure_reason) == (
        Seen.FAILED,
        FailureType.HARD,
        FailureReason.USER_UNKNOWN,
    )
    assert (hard.ref.envid, hard.ref.message_id_header, hard.ref.address) == (
        "b-1-0123456789ab",
        "<1.1.x@m>",
        "john@example.com",
    )
    assert hard.source_key == "postmark:bounce:4323372036854775807:john@example.com"
    soft = _one(postmark.observations({**POSTMARK_BOUNCE, "Type": "SoftBounce"}, NOW))
    assert soft.failure_type is FailureType.SOFT
    delivered = _one(postmark.observations(POSTMARK_DELIVERY, NOW))
    assert (delivered.seen, delivered.ref.envid) == (Seen.DELIVERED, "b-1-0123456789ab")
    assert delivered.at.year == 2019
    assert _one(postmark.observations(POSTMARK_COMPLAINT, NOW)).seen is Seen.COMPLAINED
    as_bounce_type = {**POSTMARK_BOUNCE, "Type": "SpamComplaint"}
    assert _one(postmark.observations(as_bounce_type, NOW)).seen is Seen.COMPLAINED
    auto = _one(postmark.observations({**POSTMARK_BOUNCE, "Type": "AutoResponder"}, NOW))
    assert (auto.seen, auto.failure_type) == (Seen.IGNORED, FailureType.IGNORED)


def test_postmark_records_without_an_outcome_say_nothing() -> None:
    assert postmark.observations({"RecordType": "Open", "Recipient": "a@x.org"}, NOW) == []
    assert postmark.observations({**POSTMARK_BOUNCE, "Type": "Subscribe"}, NOW) == []
    with pytest.raises(Malformed, match="JSON object"):
        postmark.observations([POSTMARK_DELIVERY, "x"], NOW)
