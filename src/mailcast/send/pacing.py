"""Backoff that learns: a receiving domain (or the relay) that asks to slow down gets a pause
and half the rate it was given, which then recovers step by step while it stays quiet."""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from mailcast.config import PacingSettings

_WINDOW = 1.0  # seconds of sends counted to know the rate a domain was getting


@dataclass
class _Pace:
    rate: float | None = None  # messages per second; None: as fast as the engine goes
    limit: float | None = None  # its own limit (a domain group's), which it recovers to
    held_until: dt.datetime | None = None
    natural: float = 0.0  # the rate it had before its first slow-down
    quiet_since: float = 0.0  # monotonic time of the last slow-down or recovery step
    tokens: float = 0.0
    updated: float = 0.0
    recent: deque[float] = field(default_factory=deque)


class Pacer:
    """Per-key holds and rates, for one worker's sending tasks (one event loop)."""

    def __init__(
        self,
        settings: PacingSettings,
        now: Callable[[], dt.datetime],
        ceiling: Callable[[str], float | None] = lambda key: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._now = now
        self._ceiling = ceiling  # a key's own rate limit (a domain group's), if it has one
        self._monotonic = monotonic
        self._paces: dict[str, _Pace] = {}

    def wait_for(self, *keys: str) -> dt.datetime | None:
        """None: a message paced by all these keys (its relay, its domain group) may go now,
        its turn is taken. Else: not before then."""
        now, mono = self._now(), self._monotonic()
        for key in keys:
            pace = self._pace(key)
            if pace.held_until is not None and pace.held_until > now:
                return pace.held_until
            later = self._next_token(pace, mono)
            if later > 0:
                return now + dt.timedelta(seconds=later)
        for key in keys:
            self._sent(self._pace(key), mono)
        return None

    def slowed(self, key: str, wait_seconds: float | None) -> dt.datetime:
        """The receiver asked to slow down: hold the key, halve its rate. Returns the hold end."""
        s, mono = self.settings, self._monotonic()
        pace = self._pace(key)
        got = max(len(pace.recent) / _WINDOW, s.min_rate)
        if pace.rate is None:
            pace.natural = got
        pace.rate = max(s.min_rate, min(pace.rate or got, got) / 2)
        wait = min(wait_seconds if wait_seconds is not None else s.wait_seconds, s.max_wait_seconds)
        held = self._now() + dt.timedelta(seconds=wait)
        pace.held_until = max(held, pace.held_until or held)
        # The rate recovers from the end of the hold on, while no other slow-down comes.
        pace.tokens, pace.updated = 0.0, mono
        pace.quiet_since = mono + (pace.held_until - self._now()).total_seconds()
        return pace.held_until

    def rate_of(self, key: str) -> float | None:
        pace = self._paces.get(key)
        return pace.rate if pace else None

    def _pace(self, key: str) -> _Pace:
        pace = self._paces.get(key)
        if pace is None:
            ceiling = self._ceiling(key)
            pace = self._paces[key] = _Pace(
                rate=ceiling, limit=ceiling, natural=ceiling or 0.0, tokens=1.0
            )
            pace.updated = self._monotonic()
        return pace

    def _next_token(self, pace: _Pace, mono: float) -> float:
        """Seconds until the key's next turn (0: now), recovering the rate while it is quiet."""
        if pace.rate is None:
            return 0.0
        self._recover(pace, mono)
        if pace.rate is None:
            return 0.0
        pace.tokens = min(1.0, pace.tokens + (mono - pace.updated) * pace.rate)
        pace.updated = mono
        if pace.tokens >= 1.0:
            return 0.0
        return (1.0 - pace.tokens) / pace.rate

    def _recover(self, pace: _Pace, mono: float) -> None:
        assert pace.rate is not None
        if pace.rate >= pace.natural:
            return  # at its own limit: nothing to recover
        steps = int((mono - pace.quiet_since) / self.settings.recover_every_seconds)
        if steps <= 0:
            return
        steps = min(steps, 64)  # more than enough to be back, and no float overflow
        pace.rate *= self.settings.recover_factor**steps
        pace.quiet_since += steps * self.settings.recover_every_seconds
        if pace.rate >= pace.natural:  # back to what it had, its own limit if it has one
            pace.rate = pace.limit

    def _sent(self, pace: _Pace, mono: float) -> None:
        if pace.rate is not None:
            pace.tokens -= 1.0
        pace.recent.append(mono)
        while pace.recent and pace.recent[0] < mono - _WINDOW:
            pace.recent.popleft()
