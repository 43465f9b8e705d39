"""The send rate and the hourly and daily quotas, held across every worker process: each
worker draws small leases from windows of time kept in the database (store/send_windows.py)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mailcast.config import Settings
from mailcast.store import send_windows
from mailcast.store.db import Database

_KEEP_WINDOWS = 3  # windows before the current one still kept in the database


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # the scope's name and the limit's: "rate", "relay:eu:hour", "group:google:rate"
    period: float  # seconds per window
    cap: int  # messages per window, for all workers together
    lease: int  # how many a worker takes at once

    @classmethod
    def for_rate(cls, rate: float, scope: str = "") -> Limit:
        # Windows of about a tenth of a second holding a whole number of messages: any second
        # then holds the rate, give or take one window's share, without a burst at its start.
        per_window = max(1, round(rate / 10))
        return cls(f"{scope}rate", per_window / rate, per_window, max(1, per_window // 4))


def limits_of(
    rate_per_second: float, hourly_quota: int = 0, daily_quota: int = 0, scope: str = ""
) -> list[Limit]:
    """The limits of a scope: everything sent (""), a relay ("relay:NAME:"), a domain group."""
    limits = []
    if rate_per_second > 0:
        limits.append(Limit.for_rate(rate_per_second, scope))
    if hourly_quota:
        limits.append(Limit(f"{scope}hour", 3600.0, hourly_quota, min(50, hourly_quota)))
    if daily_quota:
        limits.append(Limit(f"{scope}day", 86400.0, daily_quota, min(50, daily_quota)))
    return limits


def engine_limits(settings: Settings) -> dict[str, list[Limit]]:
    """Every scope's limits: the whole send's, each relay's, each domain group's rate."""
    send = settings.send
    scopes = {"": limits_of(send.rate_per_second, send.hourly_quota, send.daily_quota)}
    for name, relay in settings.named_relays.items():
        scope = relay_scope(name)
        scopes[scope] = limits_of(
            relay.rate_per_second, relay.hourly_quota, relay.daily_quota, scope
        )
    for name, group in settings.domain_groups.items():
        scope = group_scope(name)
        scopes[scope] = limits_of(group.rate_per_second, scope=scope)
    return {scope: limits for scope, limits in scopes.items() if limits}


def relay_scope(name: str) -> str:
    return f"relay:{name}:"


def group_scope(name: str) -> str:
    return f"group:{name}:"


class SharedLimits:
    """One worker's allowance; `take` runs on the event loop, `refill` in a thread."""

    def __init__(
        self, db: Database, scopes: dict[str, list[Limit]], wall: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.scopes = scopes
        self._wall = wall
        self._left: dict[str, tuple[int, int]] = {}  # name -> (window, messages left in it)
        self._lock = threading.Lock()

    def take(self, scopes: tuple[str, ...] = ("",)) -> Limit | None:
        """Take one message from the allowance of every limit of these scopes; else the limit
        to refill first."""
        now = self._wall()
        limits = [limit for scope in scopes for limit in self.scopes.get(scope, ())]
        if not limits:
            return None
        with self._lock:
            short = next((lim for lim in limits if self._left_in(lim, now) == 0), None)
            if short is not None:
                return short
            for limit in limits:
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
        with self._lock:  # several sending tasks refill at once, each in a thread
            left = self._left_in(limit, now)
            if granted or left:  # what another task's refill got meanwhile is there to use
                self._left[limit.name] = (window, left + granted)
                return 0.0
        return (window + 1) * limit.period - now

    def _left_in(self, limit: Limit, now: float) -> int:
        window, left = self._left.get(limit.name, (None, 0))
        return left if window == math.floor(now / limit.period) else 0
