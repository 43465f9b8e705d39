"""Machine events: privacy proxies and link scanners are told apart from people (pure rules)."""

from __future__ import annotations

import datetime as dt

import pytest

from mailcast.tracking.machine import is_machine_agent, is_machine_hit, too_soon
from mailcast.tracking.tokens import TokenKind

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
PEOPLE = [
    # Chrome on Windows, Safari on an iPhone, Outlook desktop, Thunderbird, Gmail on Android.
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.9.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
]
MACHINES = [
    "",  # nothing at all
    "Mozilla/5.0",  # Apple Mail Privacy Protection's proxy: the bare product token
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
    "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))",
    "Mimecast URL Protect",
    "Proofpoint URL Defense",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/100.0 Safari/537.36 BingPreview/1.0b",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1)",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
]


@pytest.mark.parametrize("agent", PEOPLE)
def test_mail_readers_and_browsers_are_people(agent: str) -> None:
    assert not is_machine_agent(agent)


@pytest.mark.parametrize("agent", MACHINES)
def test_proxies_scanners_and_scripts_are_machines(agent: str) -> None:
    assert is_machine_agent(agent)


def test_an_open_within_seconds_of_relay_or_delivery_is_a_machine() -> None:
    relayed, delivered = T0, T0 + dt.timedelta(minutes=5)
    person = PEOPLE[0]

    def opened(after: dt.timedelta) -> bool:
        return is_machine_hit(
            TokenKind.OPEN, relayed + after, person, (relayed, delivered),
            open_seconds=3, click_seconds=2,
        )  # fmt: skip

    assert opened(dt.timedelta(seconds=1))
    assert opened(dt.timedelta(seconds=3))
    assert not opened(dt.timedelta(seconds=4))
    # Within seconds of the delivery report counts too; a minute after it does not.
    assert opened(dt.timedelta(minutes=5, seconds=2))
    assert not opened(dt.timedelta(minutes=6))


def test_a_click_within_seconds_of_delivery_is_a_scanner() -> None:
    person = PEOPLE[1]

    def clicked(after: dt.timedelta) -> bool:
        return is_machine_hit(
            TokenKind.CLICK, T0 + after, person, (T0, None), open_seconds=3, click_seconds=2
        )

    assert clicked(dt.timedelta(seconds=2))
    assert not clicked(dt.timedelta(seconds=2, milliseconds=1))
    assert not clicked(dt.timedelta(hours=1))


def test_a_proxy_is_a_machine_at_any_time_a_person_never_by_agent() -> None:
    days_later = T0 + dt.timedelta(days=3)
    assert is_machine_hit(
        TokenKind.OPEN, days_later, MACHINES[2], (T0,), open_seconds=3, click_seconds=2
    )
    assert not is_machine_hit(
        TokenKind.OPEN, days_later, PEOPLE[0], (T0,), open_seconds=3, click_seconds=2
    )


def test_times_before_the_message_left_or_unknown_are_not_too_soon() -> None:
    # A delivery report can arrive after the person opened: an open before it is no proxy's.
    assert not too_soon(T0, (T0 + dt.timedelta(seconds=1),), 3)
    assert not too_soon(T0, (None, None), 3)
    assert not too_soon(T0, (), 3)


def test_a_zero_window_flags_only_by_agent() -> None:
    assert not is_machine_hit(
        TokenKind.OPEN, T0 + dt.timedelta(seconds=1), PEOPLE[0], (T0,),
        open_seconds=0, click_seconds=0,
    )  # fmt: skip
