"""Running report consumers: on a thread of the receiver's process, or in processes of their own."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Protocol, Self

from mailcast.config import Settings
from mailcast.context import Context
from mailcast.feedback.consumer import BATCH, apply_waiting

log = logging.getLogger(__name__)


class _Signal(Protocol):
    """threading.Event or multiprocessing's Event: what a consumer's loop waits on."""

    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


def consume(
    ctx: Context, wake: _Signal, stopping: _Signal, poll_seconds: float, gather_seconds: float
) -> None:
    """Apply reports as they are kept until told to stop, then what is left.

    Woken, it lets reports gather for `gather_seconds` first: a batch's cost is mostly per
    batch, so reports arriving one by one are applied many at a time. Looking without being
    woken finds what another receiver kept while its consumer was away, the claims of a
    consumer that died, and reports whose message was on the wire.
    """
    while True:
        wake.clear()
        try:
            count = apply_waiting(ctx)
        except Exception:  # the database is away: the reports wait, claimed or not
            log.exception("the report consumer could not claim reports")
            count = 0
        if count == 0 and stopping.is_set():
            return  # what was kept before the stop is applied
        if count < BATCH and wake.wait(poll_seconds) and not stopping.is_set():
            stopping.wait(gather_seconds)


class ReportConsumer:
    """`consume` on a thread of the receiver's process, or in processes of its own.

    In processes (`bounces.consumer_processes`), reading reports never holds the receiver's
    interpreter lock; a thread shares the receiver's context (and its clock, in tests).
    """

    def __init__(
        self,
        ctx: Context,
        processes: int | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        count = ctx.settings.bounces.consumer_processes if processes is None else processes
        gather_seconds = ctx.settings.bounces.gather_seconds
        if count:
            spawn = multiprocessing.get_context("spawn")  # no copy of the receiver's threads
            self._wake: _Signal = spawn.Event()
            self._stopping: _Signal = spawn.Event()
            self._runners: list[threading.Thread | BaseProcess] = [
                spawn.Process(
                    target=_serve,
                    args=(ctx.settings, self._wake, self._stopping, poll_seconds, gather_seconds),
                    name=f"mailcast-report-consumer-{n}",
                    daemon=True,
                )
                for n in range(count)
            ]
        else:
            self._wake, self._stopping = threading.Event(), threading.Event()
            self._runners = [
                threading.Thread(
                    target=consume,
                    args=(ctx, self._wake, self._stopping, poll_seconds, gather_seconds),
                    name="report consumer",
                    daemon=True,
                )
            ]

    def start(self) -> Self:
        for runner in self._runners:
            runner.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    @property
    def pids(self) -> list[int]:
        """The consumer processes' ids (none on a thread)."""
        return [r.pid for r in self._runners if isinstance(r, BaseProcess) and r.pid is not None]

    def stop(self, timeout: float = 30.0) -> None:
        """Apply what is waiting, then stop."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for runner in self._runners:
            if runner.is_alive():
                runner.join(max(0.0, deadline - time.monotonic()))
            if isinstance(runner, BaseProcess) and runner.is_alive():
                runner.kill()  # its claims expire: another consumer applies them


def _serve(
    settings: Settings,
    wake: _Signal,
    stopping: _Signal,
    poll_seconds: float,
    gather_seconds: float,
) -> None:
    ctx = Context.from_settings(settings)
    try:
        consume(ctx, wake, stopping, poll_seconds, gather_seconds)
    finally:
        ctx.db.dispose()
