"""Correlation: signed VERP, then ENVID, then the signed Message-ID; never a guess."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import RowMapping, func, select

from bounce_mail import Sent, dsn, hand_over, sent
from conftest import Scenario, corpus_file
from mailcast.compose.verp import EnvelopeSigner
from mailcast.context import Context
from mailcast.domain import (
    DeliveryState,
    FailureReason,
    FailureType,
    FeedbackMode,
    MessageStatus,
    ReportOutcome,
    SendState,
)
from mailcast.feedback import correlate
from mailcast.feedback.observation import MessageRef
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store.feedback import Target
from mailcast.store.tables import events, inbound_reports, messages

SENDMAIL_BOUNCE = "bounces/lhost-sendmail-01.eml"


@pytest.fixture
def receiver(ctx: Context) -> Iterator[BounceReceiver]:
    with BounceReceiver(ctx, port=0) as server:
        yield server


@pytest.fixture
def msgs(ctx: Context, scenario: Scenario, mta: SandboxMTA) -> dict[str, Sent]:
    scenario.audience(["kim@example.com", "lee@example.com"])
    delivery_id = scenario.sending(feedback_mode=FeedbackMode.EFS)
    send_until_idle(ctx)
    return sent(ctx, delivery_id)


def _line(ctx: Context, msg: Sent) -> RowMapping:
    with ctx.db.read() as conn:
        return conn.execute(select(messages).where(messages.c.id == msg.id)).mappings().one()


def _status(ctx: Context, msg: Sent) -> MessageStatus:
    return MessageStatus(_line(ctx, msg)["status"])


def _last_report(ctx: Context) -> RowMapping:
    query = select(inbound_reports).order_by(inbound_reports.c.id.desc())
    with ctx.db.read() as conn:
        row = conn.execute(query).mappings().first()
    assert row is not None
    return row


def _event_count(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def _postmaster(ctx: Context) -> str:
    return f"postmaster@{ctx.settings.bounce_domain}"


def _sendmail_bounce_about(msg: Sent) -> bytes:
    """A real Sendmail bounce from the corpus, its recipient and Message-ID made ours."""
    raw = corpus_file(SENDMAIL_BOUNCE).read_bytes()
    raw = raw.replace(b"userunknown@bouncehammer.jp", msg.address.encode())
    return raw.replace(
        b"<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>", msg.message_id.encode()
    )


def test_a_real_mtas_bounce_is_matched_by_the_verp_it_was_sent_to(
    ctx: Context, msgs: dict[str, Sent], receiver: BounceReceiver
) -> None:
    kim = msgs["kim@example.com"]
    raw = (
        corpus_file(SENDMAIL_BOUNCE)
        .read_bytes()
        .replace(b"userunknown@bouncehammer.jp", b"kim@example.com")
    )

    hand_over(receiver, raw, [kim.return_path])

    assert _last_report(ctx)["outcome"] == ReportOutcome.APPLIED
    assert _status(ctx, kim) is MessageStatus.FAILED
    assert _status(ctx, msgs["lee@example.com"]) is MessageStatus.PENDING


def test_without_a_verp_address_the_envid_names_the_message(
    ctx: Context, msgs: dict[str, Sent], receiver: BounceReceiver
) -> None:
    kim = msgs["kim@example.com"]
    # Sent to the postmaster, the returned headers cut: only the ENVID is left to go by.
    bounce = dsn(kim, to=_postmaster(ctx), with_message_id=False)
    assert b"Original-Envelope-Id: " + kim.envid.encode() in bounce

    hand_over(receiver, bounce, [_postmaster(ctx)])

    assert _last_report(ctx)["outcome"] == ReportOutcome.APPLIED
    assert _status(ctx, kim) is MessageStatus.FAILED


def test_without_verp_or_envid_the_signed_message_id_names_the_message(
    ctx: Context, msgs: dict[str, Sent], receiver: BounceReceiver
) -> None:
    lee = msgs["lee@example.com"]

    hand_over(receiver, _sendmail_bounce_about(lee), [_postmaster(ctx)])

    assert _last_report(ctx)["outcome"] == ReportOutcome.APPLIED
    assert _status(ctx, lee) is MessageStatus.FAILED
    assert _status(ctx, msgs["kim@example.com"]) is MessageStatus.PENDING


def test_forged_keys_match_nothing_and_the_bounce_is_kept_as_unmatched(
    ctx: Context, msgs: dict[str, Sent], receiver: BounceReceiver
) -> None:
    kim = msgs["kim@example.com"]
    forged = Sent(
        id=kim.id,
        address=kim.address,
        return_path=re.sub(r"-[0-9a-f]{12}@", "-0123456789ab@", kim.return_path),
        message_id=re.sub(r"\.[0-9a-f]{12}@", ".0123456789ab@", kim.message_id),
    )
    events_before = _event_count(ctx)

    hand_over(receiver, dsn(forged, to=_postmaster(ctx)), [_postmaster(ctx)])

    report = _last_report(ctx)
    assert (report["outcome"], report["unmatched"], report["applied"]) == (
        ReportOutcome.UNMATCHED,
        1,
        0,
    )
    assert _status(ctx, kim) is MessageStatus.PENDING
    assert _event_count(ctx) == events_before
    assert deployment(ctx, _line(ctx, kim)["delivery_id"]).counts.failed == 0


def test_a_report_about_another_recipient_is_not_applied(
    ctx: Context, msgs: dict[str, Sent], receiver: BounceReceiver
) -> None:
    kim, lee = msgs["kim@example.com"], msgs["lee@example.com"]
    # Every key names kim's message, but the report is about lee.
    bounce = dsn(kim, recipient=lee.address)

    hand_over(receiver, bounce, [kim.return_path])

    assert _last_report(ctx)["outcome"] == ReportOutcome.UNMATCHED
    assert _status(ctx, kim) is MessageStatus.PENDING
    assert _status(ctx, lee) is MessageStatus.PENDING


def _target(message_id: int, address: str) -> Target:
    return Target(
        id=message_id,
        delivery_id=1,
        profile_id=None,
        address=address,
        status=MessageStatus.PENDING,
        send_state=SendState.DONE,
        next_attempt_at=None,
        attempts=1,
        first_failure_at=None,
        failure_type=None,
        failure_reason=None,
        delivered_at=None,
        mode=FeedbackMode.EFS,
        delivery_state=DeliveryState.SENT,
        validity_ends_at=dt.datetime(2026, 1, 9, tzinfo=dt.UTC),
        relayed=True,
    )


def test_the_keys_are_tried_in_order_and_the_recipient_decides(ctx: Context) -> None:
    signer = ctx.signer
    ref = MessageRef(
        verp=signer.return_path(7),
        envid=signer.return_path(8).split("@")[0],
        message_id_header=signer.message_id_for(1, 9),
        address="rfc822;Nine@Example.com",
    )

    assert correlate.candidate_ids(signer, ref) == [7, 8, 9]
    found = {7: _target(7, "seven@example.com"), 9: _target(9, "nine@example.com")}
    picked = correlate.pick(ref, correlate.candidate_ids(signer, ref), found)
    assert picked is not None and picked.id == 9
    aliased = MessageRef(verp=signer.return_path(7), address="x@relay.example")
    assert correlate.pick(aliased, [7], found) is None
    expanded = MessageRef(
        verp=signer.return_path(7), address="seven@example.com", final_recipient="x@relay"
    )
    assert correlate.pick(expanded, [7], found) is found[7]
    forged = MessageRef(verp=signer.return_path(7).replace("b-7-", "b-9-"), envid="b-9-00")
    assert correlate.candidate_ids(signer, forged) == []


def test_the_hard_failure_found_is_the_classifiers(
    ctx: Context, msgs: dict[str, Sent], receiver: BounceReceiver
) -> None:
    lee = msgs["lee@example.com"]
    hand_over(receiver, _sendmail_bounce_about(lee), [lee.return_path])
    line = _line(ctx, lee)
    assert (line["failure_type"], line["failure_reason"]) == (
        FailureType.HARD,
        FailureReason.USER_UNKNOWN,
    )


@settings(max_examples=200, deadline=None)
@given(
    verp=st.text(max_size=80),
    envid=st.text(max_size=80),
    message_id=st.text(max_size=120),
    position=st.integers(min_value=0),
    replacement=st.sampled_from("0123456789abcdefz-.@"),
)
def test_no_key_that_mailcast_did_not_sign_names_a_message(
    verp: str, envid: str, message_id: str, position: int, replacement: str
) -> None:
    signer = EnvelopeSigner("test-secret", "bounces.example", "mail.example")
    assert correlate.candidate_ids(signer, MessageRef(verp, envid, message_id)) == []
    # One character of a real key changed: it names nothing (or, unchanged, the same).
    real = signer.return_path(12345)
    i = position % len(real)
    altered = real[:i] + replacement + real[i + 1 :]
    found = correlate.candidate_ids(signer, MessageRef(verp=altered))
    assert found == ([12345] if altered.lower() == real else [])
    real_id = signer.message_id_for(3, 12345)
    j = position % len(real_id)
    altered_id = real_id[:j] + replacement + real_id[j + 1 :]
    found = correlate.candidate_ids(signer, MessageRef(message_id_header=altered_id))
    # The message number is signed, the delivery number before it is not: changing that one
    # still names message 12345 (whose recipient is then checked), changing anything else not.
    signature = real_id.split(".")[2].split("@")[0]
    same = re.fullmatch(rf"<?[0-9]{{1,20}}\.12345\.{signature}@mail\.example>?", altered_id)
    assert found == ([12345] if same else [])
