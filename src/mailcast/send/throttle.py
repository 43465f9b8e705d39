"""Rate limiting of the hand-off: a token bucket shared by every sending task."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """At most `rate` acquisitions per second on average, in bursts of one second at most."""

    def __init__(
        self,
        rate: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._capacity = max(rate, 1.0)
        self._tokens = self._capacity
        self._monotonic = monotonic
        self._sleep = sleep
        self._updated = monotonic()

    async def acquire(self) -> None:
        if self.rate <= 0:
            return
        # Take the token now, even into debt, and wait out the debt: concurrent callers then
        # queue up in order without a lock, and no float rounding can make anyone wait forever.
        now = self._monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1
        if self._tokens < 0:
            await self._sleep(-self._tokens / self.rate)
