"""The sandbox's address book: who is refused at RCPT, and which outcome each recipient gets."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from mailcast.clock import Clock
from mailcast.config import SandboxSettings

Reply = tuple[int, str]
# Given a recipient address, the reply that refuses it, or None to accept it.
Rules = Callable[[str], Reply | None]


@dataclass(frozen=True, slots=True)
class Rule:
    """Refuse at RCPT every address whose local part starts with `prefix` (case-insensitive)."""

    prefix: str
    code: int
    text: str  # "{address}" is replaced by the recipient


# The sandbox's own address book: what a real MTA would say about these recipients.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("unknown", 550, "5.1.1 <{address}>: Recipient address rejected: User unknown"),
    Rule("full", 452, "4.2.2 <{address}>: Mailbox full"),
)


def prefix_rules(table: tuple[Rule, ...] = DEFAULT_RULES) -> Rules:
    """A rules function from a table; the first matching rule wins, no match accepts."""

    def rules(address: str) -> Reply | None:
        local = address.rpartition("@")[0].lower()
        for rule in table:
            if local.startswith(rule.prefix):
                return rule.code, rule.text.format(address=address)
        return None

    return rules


default_rules = prefix_rules(DEFAULT_RULES)


# --- Outcomes played back (SandboxSettings) -------------------------------------------------


class Play(StrEnum):
    """What happens to a recipient the sandbox is asked to deliver to."""

    DELIVER = "deliver"  # delivered: a success DSN when the envelope asked for one
    UNKNOWN = "unknown"  # no such user: 550 5.1.1 at RCPT, or a failure DSN
    FULL = "full"  # mailbox full: 452 4.2.2 (at RCPT or by DSN) until it has room again
    SLOW = "slow"  # a slow domain: a delay DSN, then delivered


UNKNOWN_REPLY = (550, "5.1.1 <{address}>: Recipient address rejected: User unknown")
FULL_REPLY = (452, "4.2.2 <{address}>: Mailbox full")


class Playbook:
    """The sandbox's address book from the settings; also its RCPT rules (a `Rules`).

    A full mailbox has room again `full_for_seconds` (scaled) after it first turned mail away.
    """

    def __init__(self, settings: SandboxSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._unknown = tuple(p.lower() for p in settings.unknown_prefixes if p)
        self._full = tuple(p.lower() for p in settings.full_prefixes if p)
        self._slow = tuple(d.lower().strip(".") for d in settings.slow_domains if d)
        self._full_since: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def play_for(self, address: str) -> Play:
        local, _, domain = address.lower().rpartition("@")
        if self._unknown and local.startswith(self._unknown):
            return Play.UNKNOWN
        if self._full and local.startswith(self._full):
            return Play.FULL
        if any(domain == d or domain.endswith("." + d) for d in self._slow):
            return Play.SLOW
        return Play.DELIVER

    def __call__(self, address: str) -> Reply | None:
        """The reply refusing `address` at RCPT, or None: async bounces accept everyone."""
        if self.settings.async_bounces:
            return None
        play = self.play_for(address)
        if play is Play.UNKNOWN:
            return _reply(UNKNOWN_REPLY, address)
        if play is Play.FULL and self.still_full(address):
            return _reply(FULL_REPLY, address)
        return None

    def still_full(self, address: str) -> bool:
        """Whether the mailbox turns mail away now; the first time starts its clock."""
        now = self.clock.now()
        room_after = dt.timedelta(seconds=self.settings.full_for_seconds / self.settings.time_scale)
        with self._lock:
            since = self._full_since.setdefault(address.lower(), now)
        return now < since + room_after


def _reply(template: Reply, address: str) -> Reply:
    return template[0], template[1].format(address=address)
