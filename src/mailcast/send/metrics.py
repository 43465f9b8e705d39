"""The relay latency of this process's hand-offs, as a histogram that /metrics exposes."""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Upper bounds in seconds: a loopback relay answers in milliseconds, a provider's endpoint in
# tenths, and the relay timeout (30 s by default) ends the slowest.
RELAY_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """Cumulative counts per upper bound (the last is +Inf), their sum and their count."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]
    total: float

    @property
    def count(self) -> int:
        return self.cumulative[-1]


class Histogram:
    """Observations counted per bucket; safe to observe and read from several threads."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = (*sorted(bounds), float("inf"))
        self._counts = [0] * len(self.bounds)
        self._total = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.bounds, value)
        with self._lock:
            self._counts[index] += 1
            self._total += value

    @contextmanager
    def time(self) -> Iterator[None]:
        """Observe how long the block took, however it ends."""
        # Elapsed real time, not the injected clock: a ManualClock would measure nothing.
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started)

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            counts, total = list(self._counts), self._total
        cumulative, running = [], 0
        for n in counts:
            running += n
            cumulative.append(running)
        return HistogramSnapshot(self.bounds, tuple(cumulative), total)


# One per process: every relay connection of every engine in this process feeds it.
RELAY_LATENCY = Histogram(RELAY_LATENCY_BUCKETS)
