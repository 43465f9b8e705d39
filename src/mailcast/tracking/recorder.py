"""The batching writer of opens and clicks: answer the hit at once, write it a moment later.

Tracking hits come in bursts (privacy proxies fetch every pixel within seconds of delivery),
so the HTTP handler only queues the hit; one writer task per process flushes the queue in
batches, each one transaction. A failed flush keeps its hits for the next one, and stopping
flushes whatever is left, so no answered hit is lost. The same open or click fetched again
and again adds to a counter on its event row rather than a row each (store/tracking_events.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from mailcast.context import Context
from mailcast.store import tracking as tracking_store
from mailcast.tracking.machine import is_machine_hit
from mailcast.tracking.tokens import TrackingToken
from mailcast.tracking.writer import WriterProcess

log = logging.getLogger("mailcast.tracking")

FLUSH_SECONDS = 0.5
# Flush early when this many are waiting: a smaller batch holds the GIL for less time, so
# the HTTP answers around it wait less.
FLUSH_HITS = 500
_RETRY_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Hit:
    """One open or click as it reached the server."""

    token: TrackingToken
    at: dt.datetime
    machine: bool  # flagged by its user agent; flushing adds the timing rule
    user_agent: str
    ip: str


def record(ctx: Context, hits: Sequence[Hit]) -> None:
    """Flag machine hits by their timing and write the batch, in one transaction."""
    if not hits:
        return
    tracking = ctx.settings.tracking
    with ctx.db.write() as conn:
        times = tracking_store.sent_times(conn, [hit.token.message_id for hit in hits])
        flagged = [_flagged(hit, times.get(hit.token.message_id, ()), ctx) for hit in hits]
        tracking_store.record_hits(
            conn,
            flagged,
            ctx.clock.now(),
            exclude_machine=tracking.exclude_machine_events,
            repeat_window=dt.timedelta(seconds=tracking.repeat_window_seconds),
        )


def _flagged(hit: Hit, sent_at: Sequence[dt.datetime | None], ctx: Context) -> Hit:
    tracking = ctx.settings.tracking
    machine = hit.machine or is_machine_hit(
        hit.token.kind,
        hit.at,
        hit.user_agent,
        sent_at,
        open_seconds=tracking.machine_open_seconds,
        click_seconds=tracking.machine_click_seconds,
    )
    return dataclasses.replace(hit, machine=machine)


class Recorder:
    """Queues hits from request handlers; a single task writes them in batches."""

    def __init__(
        self,
        ctx: Context,
        flush_seconds: float = FLUSH_SECONDS,
        flush_hits: int = FLUSH_HITS,
        *,
        in_subprocess: bool = False,
    ) -> None:
        self.ctx = ctx
        self.in_subprocess = in_subprocess
        self._writer: WriterProcess | None = None
        self.flush_seconds, self.flush_hits = flush_seconds, flush_hits
        self.written = 0
        self._pending: list[Hit] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def add(self, hit: Hit) -> None:
        """Queue a hit; never blocks the request that brought it."""
        self._pending.append(hit)
        if len(self._pending) >= self.flush_hits:
            self._wake.set()

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        if self.in_subprocess:
            self._writer = WriterProcess(self.ctx.settings)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Flush everything still queued, then end the writer task."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()  # hits queued while the last flush ran
        if self._pending:
            log.error("tracking: %d hits could not be written", len(self._pending))
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)

    async def flush(self) -> bool:
        """Write what is queued now; False (hits kept for the next try) when that failed."""
        batch, self._pending = self._pending, []
        if not batch:
            return True
        try:
            await asyncio.to_thread(self._write, batch)
        except Exception:  # the database is away: keep the hits, try again later
            log.exception("tracking: writing %d hits failed; they are kept", len(batch))
            self._pending = batch + self._pending
            return False
        self.written += len(batch)
        return True

    def _write(self, batch: list[Hit]) -> None:
        if self._writer is not None:
            self._writer.write(batch)
        else:
            record(self.ctx, batch)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
            self._wake.clear()
            if not await self.flush() and not self._stopping:
                await asyncio.sleep(_RETRY_SECONDS)
