"""The demo's readers: people who open, click and unsubscribe from what the sandbox delivered.

A fixed share of the recipients the sandbox delivers to (chosen by a hash of the address, so
every run picks the same ones) read their message a while later, in a browser, over real
HTTP: they load the open pixel, some follow a link, and a couple use the one-click
unsubscribe (RFC 8058). They read hours after the sandbox reported their message delivered
(its success DSN) and say they are a browser, so they count as people, not as a privacy
proxy or a link scanner (tracking/machine.py). What they did is tallied, for the demo to
check the counters against.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import heapq
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx2

from mailcast.clock import Clock
from mailcast.config import SandboxSettings
from mailcast.sandbox.dsn import Notice
from mailcast.sandbox.handler import Received
from mailcast.sandbox.player import SentNotice
from mailcast.sandbox.rules import Play, Playbook
from mailcast.tracking.tokens import TokenKind

OPEN_PERCENT = 40  # of the recipients delivered to
CLICK_PERCENT = 10  # of the recipients delivered to; they open first
UNSUBSCRIBES = 2  # readers who do not click but unsubscribe, one-click
CLICK_AFTER = dt.timedelta(minutes=5)  # after the open
UNSUBSCRIBE_AFTER = dt.timedelta(minutes=2)  # after the open
READ_FROM = 0.25  # of `read_within`: the earliest a reader opens, after delivery
# A person's browser: no proxy, scanner or HTTP library token in it.
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
ONE_CLICK = b"List-Unsubscribe=One-Click"

_URL = rb"https?://[^\s\"'<>]+"
_PIXEL = re.compile(rb"(" + _URL + rb"/t/o/[\w.-]+?\.gif)")
_LINK = re.compile(rb"(" + _URL + rb"/t/c/[\w.-]+)")
_UNSUBSCRIBE = re.compile(rb"<(" + _URL + rb"/t/u/[\w.-]+)>")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True, order=True)
class Visit:
    """One request a reader makes, at a simulated time."""

    at: dt.datetime
    key: str  # the message (X-Mailcast-Message), or its recipient
    kind: TokenKind = field(compare=False)
    url: str = field(compare=False)


@dataclass
class Tally:
    """What the readers did, by message; `refused` lists requests not answered as expected."""

    opened: set[str] = field(default_factory=set)
    clicked: set[str] = field(default_factory=set)
    unsubscribed: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Read:
    """What a reader will do with one message: the URLs in it, found when it arrived."""

    pixel: str
    link: str | None
    unsubscribe: str | None
    clicks: bool = False


class Readers:
    """Notes the messages the sandbox accepts (`receive`), plans the visits once they are
    reported delivered (`delivered`), makes them when due (`act`)."""

    def __init__(self, sandbox: SandboxSettings, clock: Clock, read_within: dt.timedelta) -> None:
        self._playbook = Playbook(sandbox, clock)  # who the sandbox delivers to
        self._read_within = read_within
        self._lock = threading.Lock()
        self._due: list[Visit] = []
        self._reads: dict[str, _Read] = {}
        self._undelivered: dict[str, tuple[str, _Read]] = {}  # by recipient
        self.did = Tally()
        self._unsubscribers = 0

    def receive(self, message: Received) -> None:
        """The sandbox's listener (on its loop thread): note the reads this message brings."""
        for recipient in message.recipients:
            bucket = _hash(recipient, "who") % 100
            if bucket >= OPEN_PERCENT or self._playbook.play_for(recipient) is not Play.DELIVER:
                continue
            found = _urls(message.data or b"", clicks=bucket < CLICK_PERCENT)
            if found is None:
                continue
            key = message.mailcast_message or recipient.casefold()
            with self._lock:
                self._undelivered[recipient.casefold()] = (key, found)

    def delivered(self, notices: Iterable[SentNotice]) -> None:
        """Plan the reads of the messages these DSNs report delivered, hours after them.

        Counted from the acceptance instead, a read could come in the very tick of the
        success DSN; both then carry the tick's time, and an open at the moment of delivery
        is what a privacy proxy does (tracking/machine.py): the reader would not count.
        """
        for sent in notices:
            if sent.notice is not Notice.DELIVERED or sent.code >= 300:
                continue
            with self._lock:
                waiting = self._undelivered.pop(sent.recipient.casefold(), None)
            if waiting is not None:
                key, found = waiting
                self._plan(key, found, sent.at + self._delay(sent.recipient))

    def act(self, client: httpx2.Client, now: dt.datetime) -> int:
        """Make every visit due by `now`, in time order; how many were made."""
        made = 0
        while (visit := self._next_due(now)) is not None:
            self._visit(client, visit)
            made += 1
        return made

    def _delay(self, recipient: str) -> dt.timedelta:
        # Between a quarter of `read_within` and all of it: hours, not seconds, after delivery.
        share = (_hash(recipient, "when") % 1000) / 1000
        return self._read_within * (READ_FROM + (1 - READ_FROM) * share)

    def _plan(self, key: str, found: _Read, opens_at: dt.datetime) -> None:
        with self._lock:
            self._reads[key] = found
            heapq.heappush(self._due, Visit(opens_at, key, TokenKind.OPEN, found.pixel))
            if found.clicks and found.link is not None:
                click = Visit(opens_at + CLICK_AFTER, key, TokenKind.CLICK, found.link)
                heapq.heappush(self._due, click)

    def _next_due(self, now: dt.datetime) -> Visit | None:
        with self._lock:
            if not self._due or self._due[0].at > now:
                return None
            return heapq.heappop(self._due)

    def _visit(self, client: httpx2.Client, visit: Visit) -> None:
        if visit.kind is TokenKind.OPEN:
            self._open(client, visit)
        elif visit.kind is TokenKind.CLICK:
            self._answered(client.get(visit.url), 302, visit, self.did.clicked)
        else:
            response = client.post(
                visit.url,
                content=ONE_CLICK,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            self._answered(response, 200, visit, self.did.unsubscribed)

    def _open(self, client: httpx2.Client, visit: Visit) -> None:
        if not self._answered(client.get(visit.url), 200, visit, self.did.opened):
            return
        with self._lock:
            read = self._reads[visit.key]
        # The first readers who open without clicking unsubscribe, a moment after reading.
        if self._unsubscribers < UNSUBSCRIBES and read.unsubscribe and not read.clicks:
            self._unsubscribers += 1
            later = Visit(
                visit.at + UNSUBSCRIBE_AFTER, visit.key, TokenKind.UNSUBSCRIBE, read.unsubscribe
            )
            with self._lock:
                heapq.heappush(self._due, later)

    def _answered(
        self, response: httpx2.Response, expected: int, visit: Visit, done: set[str]
    ) -> bool:
        if response.status_code != expected:
            self.did.refused.append(f"{visit.kind.name} {visit.key}: HTTP {response.status_code}")
            return False
        done.add(visit.key)
        return True


def browser() -> httpx2.Client:
    """The readers' browser: follows no redirect (the links lead off loopback)."""
    return httpx2.Client(headers={"User-Agent": BROWSER}, follow_redirects=False, timeout=30)


def _urls(data: bytes, *, clicks: bool) -> _Read | None:
    """The pixel, first tracked link and one-click unsubscribe URL of a message, if tracked."""
    head = _HEAD_END.split(data, maxsplit=1)[0]
    body = _decoded(data)
    pixel = _PIXEL.search(body)
    if pixel is None:
        return None
    link = _LINK.search(body)
    unsubscribe = _UNSUBSCRIBE.search(head)
    return _Read(
        pixel.group(1).decode(),
        link.group(1).decode() if link else None,
        unsubscribe.group(1).decode() if unsubscribe else None,
        clicks,
    )


def _decoded(data: bytes) -> bytes:
    """The text of every part as sent, each decoded by its own transfer encoding."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    texts = [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
    return "".join(texts).encode()


def _hash(address: str, purpose: str) -> int:
    # A real hash, not a checksum: neighbouring addresses must not land in neighbouring buckets.
    digest = hashlib.blake2b(f"{purpose}:{address.casefold()}".encode(), digest_size=8)
    return int.from_bytes(digest.digest())
