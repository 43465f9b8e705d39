"""Reading what a refusal is about, and the backoff that follows a slow-down reply."""

from __future__ import annotations

import datetime as dt

import pytest

from mailcast.clock import ManualClock
from mailcast.config import PacingSettings
from mailcast.send.pacing import Pacer
from mailcast.send.relay import RelayReply, ReplyKind, Stage
from mailcast.send.replies import Concern, read_reply


def _read(reply: str, stage: Stage = Stage.RCPT) -> tuple[Concern, float | None]:
    code, _, text = reply.partition(" ")
    reading = read_reply(RelayReply(ReplyKind.REFUSED, int(code), text, stage))
    return reading.concern, reading.wait_seconds


@pytest.mark.parametrize(
    ("reply", "concern", "wait"),
    [
        ("451 4.7.1 rate limited, try again in 30 seconds", Concern.DOMAIN_PACE, 30.0),
        ("421 4.7.0 Try again later, closing connection.", Concern.DOMAIN_PACE, None),
        (
            "450 4.2.1 The user you are trying to contact is receiving mail at a rate that "
            "prevents additional messages from being delivered.",
            Concern.DOMAIN_PACE,
            None,
        ),
        (
            "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected "
            "volume or user complaints",
            Concern.DOMAIN_PACE,
            None,
        ),
        (
            "451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77714)",
            Concern.DOMAIN_PACE,
            None,
        ),
        ("452 4.5.3 Too many recipients, retry in 2 minutes", Concern.DOMAIN_PACE, 120.0),
        ("454 Throttling failure: Maximum sending rate exceeded.", Concern.RELAY_PACE, None),
        ("454 Throttling failure: Daily message quota exceeded.", Concern.RELAY_PACE, None),
        ("554 5.7.1 <a@example.org>: Relay access denied", Concern.RELAY, None),
        ("553 5.7.1 <news@example.com>: Sender address rejected: not owned", Concern.RELAY, None),
        ("554 Message rejected: Email address is not verified.", Concern.RELAY, None),
        ("421 4.3.2 Service not available, closing transmission channel", Concern.RELAY, None),
        (
            "550 5.1.1 <a@example.org>: Recipient address rejected: User unknown",
            Concern.RECIPIENT,
            None,
        ),
        ("552 5.2.2 Mailbox full", Concern.RECIPIENT, None),
        (
            "450 4.2.0 <a@example.org>: Recipient address rejected: Greylisted",
            Concern.RECIPIENT,
            None,
        ),
        ("554 5.7.1 Message rejected as spam by Content Filtering", Concern.RECIPIENT, None),
    ],
)
def test_what_a_refusal_is_about(reply: str, concern: Concern, wait: float | None) -> None:
    assert _read(reply) == (concern, wait)


def test_a_refused_mail_from_is_about_the_sender_whoever_the_recipient() -> None:
    assert _read("550 5.7.1 Not allowed", Stage.MAIL)[0] is Concern.RELAY
    assert _read("451 4.7.1 Too many messages, slow down", Stage.MAIL)[0] is Concern.RELAY_PACE


class _Time:
    def __init__(self) -> None:
        self.mono = 0.0
        self.clock = ManualClock()

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.clock.advance(dt.timedelta(seconds=seconds))


def _pacer(time: _Time) -> Pacer:
    return Pacer(PacingSettings(), time.clock.now, monotonic=lambda: time.mono)


def _send(pacer: Pacer, domain: str, n: int, time: _Time, every: float) -> int:
    """Offer n messages `every` seconds apart; how many the pacer let go."""
    sent = 0
    for _ in range(n):
        sent += pacer.wait_for(domain) is None
        time.advance(every)
    return sent


def test_a_slow_down_holds_the_domain_then_halves_its_rate_and_recovers() -> None:
    time = _Time()
    pacer = _pacer(time)
    assert _send(pacer, "gmail.com", 100, time, 0.01) == 100  # 100 per second, no limit
    held_until = pacer.slowed("gmail.com", 30)
    assert held_until == time.clock.now() + dt.timedelta(seconds=30)
    assert pacer.wait_for("gmail.com") == held_until
    assert pacer.wait_for("yahoo.com") is None  # other domains go on

    time.advance(30)
    assert pacer.rate_of("gmail.com") == pytest.approx(50.0, rel=0.05)
    assert _send(pacer, "gmail.com", 100, time, 0.01) == pytest.approx(50, abs=3)

    time.advance(60)  # quiet: 1.5x every 10 s, back to no limit of its own
    assert pacer.wait_for("gmail.com") is None
    assert pacer.rate_of("gmail.com") is None


def test_a_second_slow_down_halves_again_and_the_wait_it_names_is_kept() -> None:
    time = _Time()
    pacer = _pacer(time)
    _send(pacer, "example.org", 40, time, 0.025)
    pacer.slowed("example.org", None)
    first = pacer.rate_of("example.org")
    assert first is not None
    held = pacer.slowed("example.org", 5)  # a shorter wait never shortens the hold
    assert held == time.clock.now() + dt.timedelta(seconds=PacingSettings().wait_seconds)
    assert pacer.rate_of("example.org") == pytest.approx(first / 2)


def test_a_slow_down_about_the_sender_holds_every_domain_of_that_relay() -> None:
    time = _Time()
    pacer = _pacer(time)
    pacer.slowed("relay:eu:", 10)
    assert pacer.wait_for("relay:eu:", "a.example") is not None
    assert pacer.wait_for("relay:eu:", "b.example") is not None
    assert pacer.wait_for("relay:us:", "b.example") is None  # another relay goes on
    time.advance(10)
    assert pacer.wait_for("relay:eu:", "a.example") is None


def test_a_group_with_a_rate_of_its_own_keeps_it_and_recovers_to_it() -> None:
    time = _Time()
    pacer = Pacer(
        PacingSettings(),
        time.clock.now,
        lambda key: 20.0 if key == "google" else None,
        monotonic=lambda: time.mono,
    )
    assert _send(pacer, "google", 100, time, 0.01) == pytest.approx(20, abs=2)
    assert _send(pacer, "other.example", 100, time, 0.01) == 100
    pacer.slowed("google", 1)
    assert pacer.rate_of("google") == pytest.approx(10.0)
    time.advance(60)
    pacer.wait_for("google")
    assert pacer.rate_of("google") == 20.0
