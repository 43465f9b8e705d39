"""The rate limit holds on average, allowing at most one second's worth in a burst."""

from __future__ import annotations

import asyncio

from mailcast.send.throttle import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def _acquire(limiter: RateLimiter, n: int) -> None:
    async def run() -> None:
        for _ in range(n):
            await limiter.acquire()

    asyncio.run(run())


def test_a_burst_of_one_second_then_the_rate() -> None:
    time = FakeTime()
    limiter = RateLimiter(100, time.monotonic, time.sleep)
    _acquire(limiter, 100)
    assert time.now == 0.0  # the first second's worth goes at once
    _acquire(limiter, 500)
    assert 4.99 <= time.now <= 5.01  # then 100 a second


def test_no_limit_when_the_rate_is_zero() -> None:
    time = FakeTime()
    limiter = RateLimiter(0, time.monotonic, time.sleep)
    _acquire(limiter, 10_000)
    assert time.now == 0.0
