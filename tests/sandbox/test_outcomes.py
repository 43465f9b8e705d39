"""The sandbox plays outcomes: per-address rules, real RFC 3464 DSNs on time, over loopback SMTP."""

from __future__ import annotations

import datetime as dt
import email
import smtplib
import socket
import threading
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

import pytest

from mailcast.clock import ManualClock
from mailcast.config import BounceSettings, SandboxSettings, Settings
from mailcast.domain import FailureType
from mailcast.feedback.model import Report
from mailcast.feedback.parse import parse_report
from mailcast.sandbox.dsn import Notice
from mailcast.sandbox.mta import Received, SandboxMTA, SentNotice, run_sandbox

RETURN_PATH = "b-7-0123456789ab@bounces.mailcast.localhost"
ENVID = "b-7-0123456789ab"
MESSAGE_ID = "<3.7.0123456789ab@mailcast.localhost>"
MESSAGE = (
    "From: News <news@example.com>\r\n"
    "To: {to}\r\n"
    "Subject: Spring sale\r\n"
    f"Message-ID: {MESSAGE_ID}\r\n"
    "X-Mailcast-Message: 7\r\n"
    "\r\n"
    "The body of the message\r\n"
)
ALL = "SUCCESS,FAILURE,DELAY"
Play = Callable[..., SandboxMTA]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def receiver() -> Iterator[SandboxMTA]:
    """Stands in for the bounce receiver: takes every DSN and keeps it."""
    with SandboxMTA(port=0, rules=lambda address: None) as server:
        yield server


@pytest.fixture
def play(clock: ManualClock, receiver: SandboxMTA) -> Iterator[Play]:
    """A playing sandbox with the given sandbox settings, DSNs to `receiver`, no autoplay."""
    started: list[SandboxMTA] = []

    def start(autoplay: bool = False, **sandbox: Any) -> SandboxMTA:
        settings = Settings(
            sandbox=SandboxSettings(**({"spread": 0.0} | sandbox)),
            bounces=BounceSettings(port=receiver.port),
        )
        mta = SandboxMTA.playing(settings, clock, port=0, autoplay=autoplay).start()
        started.append(mta)
        return mta

    yield start
    for mta in started:
        mta.stop()


def _send(
    mta: SandboxMTA,
    to: str,
    notify: str | None = ALL,
    ret: str | None = "HDRS",
    sender: str = RETURN_PATH,
) -> tuple[int, bytes]:
    """One message with RFC 3461 parameters as mailcast's relay sends them; the RCPT reply."""
    mail_options = [f"ENVID={ENVID}"] + ([f"RET={ret}"] if ret else [])
    rcpt_options = [f"ORCPT=rfc822;{to}"] + ([f"NOTIFY={notify}"] if notify else [])
    with smtplib.SMTP("127.0.0.1", mta.port, timeout=10) as client:
        client.ehlo("mailcast.test")
        client.mail(sender, mail_options)
        code, text = client.rcpt(to, rcpt_options)
        if code == 250:
            client.data(MESSAGE.format(to=to).encode())
    return code, text


def _later(mta: SandboxMTA, clock: ManualClock, **delta: float) -> list[Notice]:
    clock.advance(dt.timedelta(**delta))
    return [sent.notice for sent in mta.play_due()]


def _reports(receiver: SandboxMTA) -> list[tuple[Received, Report]]:
    return [(got, parse_report(got.data or b"")) for got in receiver.received()]


# --- Per-address rules at RCPT --------------------------------------------------------------


def test_unknown_users_are_refused_at_rcpt_and_bring_no_dsn(
    play: Play, clock: ManualClock, receiver: SandboxMTA
) -> None:
    mta = play()
    code, text = _send(mta, "unknown.jo@example.org")

    assert (code, text.split()[0]) == (550, b"5.1.1")
    assert _later(mta, clock, days=1) == []
    assert receiver.count == 0


def test_a_full_mailbox_defers_until_it_has_room_then_delivers(
    play: Play, clock: ManualClock, receiver: SandboxMTA
) -> None:
    mta = play(full_for_seconds=5400)
    assert _send(mta, "full.ann@example.org")[0] == 452
    clock.advance(dt.timedelta(hours=1))
    code, text = _send(mta, "full.ann@example.org")
    assert (code, text.split()[0]) == (452, b"4.2.2")  # still full an hour later
    clock.advance(dt.timedelta(minutes=31))

    assert _send(mta, "full.ann@example.org")[0] == 250
    assert _later(mta, clock, minutes=1) == [Notice.DELIVERED]
    ((_, report),) = _reports(receiver)
    assert [(r.address, r.action, r.status) for r in report.recipients] == [
        ("full.ann@example.org", "delivered", "2.0.0")
    ]


# --- DSNs: what they say, and when ----------------------------------------------------------


def test_async_bounce_is_a_failure_dsn_to_the_return_path(
    play: Play, clock: ManualClock, receiver: SandboxMTA
) -> None:
    mta = play(async_bounces=True, bounce_after_seconds=600)
    assert _send(mta, "unknown.jo@example.org")[0] == 250

    assert _later(mta, clock, seconds=599) == []
    assert _later(mta, clock, seconds=1) == [Notice.FAILED]
    ((got, report),) = _reports(receiver)
    assert got.mail_from == "<>"  # a DSN never bounces back (RFC 3464 null sender)
    assert got.recipients == (RETURN_PATH,)
    assert report.kind == "dsn"
    assert (report.envid, report.message_id) == (ENVID, MESSAGE_ID)
    (recipient,) = report.recipients
    assert (recipient.address, recipient.action, recipient.status) == (
        "unknown.jo@example.org",
        "failed",
        "5.1.1",
    )
    assert recipient.original_recipient == "unknown.jo@example.org"
    assert (recipient.reason, recipient.failure_type) == ("userunknown", FailureType.HARD)
    assert "550 5.1.1" in recipient.diagnostic


def test_async_full_mailbox_is_a_soft_failure_dsn(
    play: Play, clock: ManualClock, receiver: SandboxMTA
) -> None:
    mta = play(async_bounces=True)
    assert _send(mta, "full.ann@example.org")[0] == 250
    assert _later(mta, clock, minutes=10) == [Notice.FAILED]
    ((_, report),) = _reports(receiver)
    (recipient,) = report.recipients
    assert (recipient.status, recipient.reason) == ("4.2.2", "mailboxfull")
    assert recipient.failure_type is FailureType.SOFT


def test_slow_domain_gets_a_delay_dsn_then_a_success_dsn(
    play: Play, clock: ManualClock, receiver: SandboxMTA
) -> None:
    mta = play(slow_domains=["slow.example"], delay_after_seconds=1800, slow_delivery_seconds=7200)
    assert _send(mta, "bo@mx2.slow.example")[0] == 250

    assert _later(mta, clock, minutes=29) == []
    assert _later(mta, clock, minutes=1) == [Notice.DELAYED]
    assert _later(mta, clock, minutes=89) == []
    assert _later(mta, clock, minutes=1) == [Notice.DELIVERED]
    (_, delayed), (_, delivered) = _reports(receiver)
    assert [(r.action, r.failure_type) for r in delayed.recipients] == [
        ("delayed", FailureType.SOFT)
    ]
    assert [(r.action, r.status) for r in delivered.recipients] == [("delivered", "2.0.0")]
    assert {delayed.envid, delivered.envid} == {ENVID}


def test_success_dsn_only_when_the_envelope_asked_for_it(
    play: Play, clock: ManualClock, receiver: SandboxMTA
) -> None:
    mta = play()
    _send(mta, "ann@example.org", notify=ALL)
    _send(mta, "bo@example.org", notify="FAILURE,DELAY")  # legacy: no feedback service
    _send(mta, "cy@example.org", notify=None)

    assert _later(mta, clock, minutes=5) == [Notice.DELIVERED]
    ((_, report),) = _reports(receiver)
    assert [r.address for r in report.recipients] == ["ann@example.org"]


@pytest.mark.parametrize(
    ("notify", "expected"),
    [(None, [Notice.FAILED]), ("FAILURE", [Notice.FAILED]), ("NEVER", []), ("SUCCESS", [])],
)
def test_failure_dsn_follows_notify(
    play: Play, clock: ManualClock, notify: str | None, expected: list[Notice]
) -> None:
    mta = play(async_bounces=True)
    _send(mta, "unknown@example.org", notify=notify)
    assert _later(mta, clock, hours=1) == expected


def test_time_scale_compresses_every_delay(play: Play, clock: ManualClock) -> None:
    mta = play(async_bounces=True, time_scale=60, bounce_after_seconds=600)
    _send(mta, "unknown@example.org")
    assert _later(mta, clock, seconds=9) == []
    assert _later(mta, clock, seconds=1) == [Notice.FAILED]


def test_spread_delays_each_message_differently_within_bounds(
    play: Play, clock: ManualClock
) -> None:
    mta = play(spread=1.0, success_after_seconds=600)
    for n in range(20):
        _send(mta, f"reader{n}@example.org")
    assert mta.player is not None
    assert _later(mta, clock, seconds=599) == []
    firsts = len(_later(mta, clock, seconds=301))
    assert 0 < firsts < 20  # spread out, not all at once
    assert len(_later(mta, clock, seconds=300)) == 20 - firsts  # and none beyond 2 x 600 s


def test_a_failure_returns_the_whole_message_unless_ret_hdrs(
    play: Play, clock: ManualClock, receiver: SandboxMTA
) -> None:
    mta = play(async_bounces=True)
    _send(mta, "unknown1@example.org", ret=None)
    _send(mta, "unknown2@example.org", ret="HDRS")
    _later(mta, clock, hours=1)

    full, headers = (email.message_from_bytes(r.data or b"") for r in receiver.received())
    assert [p.get_content_type() for p in full.walk()][-2:] == ["message/rfc822", "text/plain"]
    assert b"The body of the message" in (receiver.received()[0].data or b"")
    assert [p.get_content_type() for p in headers.walk()][-1] == "text/rfc822-headers"
    assert b"The body of the message" not in (receiver.received()[1].data or b"")


def test_dsn_is_a_well_formed_multipart_report(
    play: Play, clock: ManualClock, receiver: SandboxMTA
) -> None:
    mta = play()
    _send(mta, "ann@example.org")
    _later(mta, clock, minutes=5)

    report = email.message_from_bytes(receiver.received()[0].data or b"")
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    assert report["To"] == RETURN_PATH
    assert report["Auto-Submitted"] == "auto-replied"
    parts = report.get_payload()
    assert isinstance(parts, list)
    assert [p.get_content_type() for p in parts if isinstance(p, Message)] == [
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]


def test_no_dsn_about_a_message_with_a_null_sender(play: Play, clock: ManualClock) -> None:
    mta = play(async_bounces=True)
    _send(mta, "unknown@example.org", sender="<>")
    assert _later(mta, clock, days=1) == []


# --- Delivering DSNs to the bounce receiver -------------------------------------------------


def test_a_receiver_that_is_down_gets_the_dsn_later(
    clock: ManualClock, receiver: SandboxMTA
) -> None:
    settings = Settings(sandbox=SandboxSettings(spread=0.0), bounces=BounceSettings(port=1))
    with SandboxMTA.playing(settings, clock, port=0, autoplay=False) as mta:
        assert mta.player is not None
        _send(mta, "ann@example.org")
        assert _later(mta, clock, minutes=5) == []  # connection refused: kept
        assert mta.player.planned() == 1
        mta.player.dsn_port = receiver.port  # the receiver is back
        assert _later(mta, clock, seconds=59) == []
        assert _later(mta, clock, seconds=1) == [Notice.DELIVERED]
    assert receiver.count == 1


def test_a_dsn_the_receiver_refuses_is_dropped_and_recorded(
    clock: ManualClock, play: Play, receiver: SandboxMTA
) -> None:
    receiver.handler.rules = lambda address: (550, "5.1.1 no such bounce address")
    mta = play()
    _send(mta, "ann@example.org")
    (sent,) = _played(mta, clock)
    assert (sent.notice, sent.code) == (Notice.DELIVERED, 550)
    assert mta.player is not None and mta.player.planned() == 0
    assert mta.player.counts() == {}


def _played(mta: SandboxMTA, clock: ManualClock) -> list[SentNotice]:
    clock.advance(dt.timedelta(minutes=5))
    return mta.play_due()


def test_autoplay_sends_what_the_clock_makes_due(play: Play, clock: ManualClock) -> None:
    mta = play(autoplay=True)
    _send(mta, "ann@example.org")
    assert mta.player is not None
    clock.advance(dt.timedelta(minutes=5))
    assert mta.player.wait_for(1, timeout=10)
    assert [s.notice for s in mta.notices()] == [Notice.DELIVERED]


def test_mailcast_sandbox_plays_outcomes_from_the_settings(receiver: SandboxMTA) -> None:
    """`mailcast sandbox`: the rules and delays of the settings, DSNs to the bounce receiver."""
    port = free_port()
    settings = Settings(
        sandbox=SandboxSettings(async_bounces=True, time_scale=6000.0, spread=0.0),
        bounces=BounceSettings(port=receiver.port),
    )
    stop = threading.Event()
    lines: list[str] = []
    runner = threading.Thread(
        target=run_sandbox,
        args=("127.0.0.1", port),
        kwargs={"out": lines.append, "stop": stop, "report_every": 0.05, "settings": settings},
    )
    runner.start()
    try:
        while len(lines) < 2:
            stop.wait(0.01)
        assert lines[1] == f"playing outcomes: DSNs to 127.0.0.1:{receiver.port}"
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(RETURN_PATH, ["unknown@example.org"], MESSAGE.format(to="x").encode())
        # 600 s at 6,000 times: a tenth of a second later, on the system clock.
        assert receiver.wait_for(1, timeout=10)
    finally:
        stop.set()
        runner.join(10)
    (report,) = [parse_report(r.data or b"") for r in receiver.received()]
    assert [(r.address, r.status) for r in report.recipients] == [("unknown@example.org", "5.1.1")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
