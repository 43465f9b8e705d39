"""List-Unsubscribe's mailto: an email to it, through the real bounce receiver, unsubscribes."""

from __future__ import annotations

import email
import email.policy
import re
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from tracked import A, B, Tracked, send

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import EventKind, ReportOutcome
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store import inbound as inbound_store

DOMAIN = "bounces.example.com"


@pytest.fixture
def sent(ctx: Context, clock: ManualClock, scenario: Scenario, mta: SandboxMTA) -> Tracked:
    ctx.settings.bounce_domain = DOMAIN  # before anything signs with it
    return send(ctx, clock, scenario, [A, B])


@pytest.fixture
def receiver(ctx: Context, sent: Tracked) -> Iterator[BounceReceiver]:
    with BounceReceiver(ctx, port=0) as server:
        yield server


def _mailtos(mta: SandboxMTA) -> dict[str, str]:
    """Each recipient's List-Unsubscribe mailto address, as its message carries it."""
    found = {}
    for item in mta.received():
        message = email.message_from_bytes(item.data or b"", policy=email.policy.default)
        header = str(message["List-Unsubscribe"])
        https, mailto = re.findall(r"<([^<>]*)>", header)
        assert "/t/u/" in https and mailto.startswith("mailto:")
        found[item.recipients[0]] = mailto.removeprefix("mailto:")
    return found


def _reports(ctx: Context) -> list[dict[str, object]]:
    with ctx.db.read() as conn:
        return [dict(row) for row in inbound_store.list_reports(conn)]


def _request(receiver: BounceReceiver, to: str) -> str:
    """An unsubscribe email as a mail client sends one; the receiver's reply."""
    message = EmailMessage()
    message["From"] = A
    message["To"] = to
    message["Subject"] = "unsubscribe"
    message.set_content("This is an automatically generated unsubscribe request.")
    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        client.ehlo("mail.example.com")
        client.mail(A)
        code, _ = client.rcpt(to)
        assert code == 250
        code, reply = client.data(message.as_bytes())
    assert code == 250
    receiver.wait_applied()
    return reply.decode()


def _unsubscribed(sent: Tracked) -> list[tuple[int, str]]:
    return [
        (e["message_id"], e["detail"]["source"])
        for e in sent.events()
        if e["kind"] == EventKind.UNSUBSCRIBED
    ]


def test_an_email_to_the_mailto_unsubscribes_like_the_one_click(
    ctx: Context, sent: Tracked, mta: SandboxMTA, receiver: BounceReceiver
) -> None:
    mailto = _mailtos(mta)[A]
    assert mailto.endswith(f"@{DOMAIN}") and len(mailto.split("@")[0]) <= 64

    _request(receiver, mailto)

    assert not sent.subscribed(A) and sent.subscribed(B)
    assert sent.message(A)["unsubscribed_at"] is not None
    assert _unsubscribed(sent) == [(sent.ids[A], "mailto")]
    assert sent.counters()["unsubscribed"] == 1
    (report,) = _reports(ctx)
    assert (report["outcome"], report["kind"], report["applied"]) == (
        ReportOutcome.APPLIED,
        "unsubscribe",
        1,
    )

    _request(receiver, mailto.upper())  # a second request, its case changed on the way
    assert sent.counters()["unsubscribed"] == 1 and len(_unsubscribed(sent)) == 1
    assert _reports(ctx)[0]["outcome"] == ReportOutcome.DUPLICATE


def test_a_forged_mailto_changes_nothing_and_is_kept_as_unmatched(
    ctx: Context, sent: Tracked, mta: SandboxMTA, receiver: BounceReceiver
) -> None:
    local, domain = _mailtos(mta)[A].split("@")
    forged = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{domain}"
    # B's message with A's signature: a signature names one message only.
    signature = local.rsplit("-", 1)[1]
    swapped = f"unsubscribe+{_base36(sent.ids[B])}-{signature}@{domain}"

    for address in (forged, swapped):
        _request(receiver, address)

    assert sent.subscribed(A) and sent.subscribed(B)
    assert _unsubscribed(sent) == [] and sent.counters()["unsubscribed"] == 0
    reports = _reports(ctx)
    assert [(r["outcome"], r["unmatched"]) for r in reports] == [
        (ReportOutcome.UNMATCHED, 1),
        (ReportOutcome.UNMATCHED, 1),
    ]
    assert receiver.stored == 2


def test_an_address_not_shaped_as_ours_is_refused_at_rcpt(
    ctx: Context, sent: Tracked, receiver: BounceReceiver
) -> None:
    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
        client.ehlo("mail.example.com")
        client.mail(A)
        code, _ = client.rcpt(f"unsubscribe+1-00@{DOMAIN}.evil.example")
    assert code == 550
    assert sent.subscribed(A)


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
        if not number:
            return digits
