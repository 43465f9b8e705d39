"""The send rate and the hourly and daily quotas, held across every worker process: each
worker draws small leases from windows of time kept in the database (store/send_windows.py)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from mailcast.config import SendSettings
from mailcast.store import send_windows
from mailcast.store.db import Database

_KEEP_WINDOWS = 3  # windows before the current one still kept in the database


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    period: float  # seconds per window
    cap: int  # messages per window, for all workers together
    lease: int  # how many a worker takes at once

    @classmethod
    def for_rate(cls, rate: float) -> Limit:
        # Windows of about a tenth of a second holding a whole number of messages: any second
        # then holds the rate, give or take one window's share, without a burst at its start.
        per_window = max(1, round(rate / 10))
        return cls("rate", per_window / rate, per_window, max(1, per_window // 4))


def limits_of(settings: SendSettings) -> list[Limit]:
    limits = []
    if settings.rate_per_second > 0:
        limits.append(Limit.for_rate(settings.rate_per_second))
    if settings.hourly_quota:
        limits.append(Limit("hour", 3600.0, settings.hourly_quota, min(50, settings.hourly_quota)))
    if settings.daily_quota:
        limits.append(Limit("day", 86400.0, settings.daily_quota, min(50, settings.daily_quota)))
    return limits


class SharedLimits:
    """One worker's allowance; `take` runs on the event loop, `refill` in a thread."""

    def __init__(
        self, db: Database, limits: list[Limit], wall: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.limits = limits
        self._wall = wall
        self._left: dict[str, tuple[int, int]] = {}  # name -> (window, messages left in it)

    def take(self) -> Limit | None:
        """Take one message from every limit's allowance; else the limit to refill first."""
        now = self._wall()
        short = next((lim for lim in self.limits if self._left_in(lim, now) == 0), None)
        if short is not None:
            return short
        for limit in self.limits:
            window, left = self._left[limit.name]
            self._left[limit.name] = (window, left - 1)
        return None

    def refill(self, limit: Limit) -> float:
        """Lease more of the limit's current window: 0.0 when granted, else the seconds until
        its next window (a blocking database call)."""
        now = self._wall()
        window = math.floor(now / limit.period)
        with self.db.write() as conn:
            granted = send_windows.lease(conn, limit.name, window, limit.cap, limit.lease)
            if granted and self._left.get(limit.name, (None, 0))[0] != window:
                send_windows.forget_before(conn, limit.name, window - _KEEP_WINDOWS)
        if granted:
            self._left[limit.name] = (window, granted)
            return 0.0
        return (window + 1) * limit.period - now

    def _left_in(self, limit: Limit, now: float) -> int:
        window, left = self._left.get(limit.name, (None, 0))
        return left if window == math.floor(now / limit.period) else 0
