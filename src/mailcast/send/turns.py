"""When a message may go: its domain group's sessions and pace, its relay's pace, and the
rate and quotas every worker shares (the whole send's, its relay's, its domain group's)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass

from mailcast.context import Context
from mailcast.send.domain_groups import DomainGroups
from mailcast.send.pacing import Pacer
from mailcast.send.shared_limits import SharedLimits, engine_limits, group_scope, relay_scope

# A sending task waits its turn in place up to this; longer, the message goes back.
LONGEST_WAIT = dt.timedelta(seconds=1)
_SESSION_POLL = dt.timedelta(milliseconds=10)  # how often a task looks for a group's session


@dataclass(frozen=True, slots=True)
class Held:
    """Not its turn for this long (zero: the worker stops); `by_relay`: the relay's own quota."""

    wait: dt.timedelta
    by_relay: bool = False


class Turns:
    """The turns of one worker's sending tasks (one event loop)."""

    def __init__(self, ctx: Context, stopping: asyncio.Event) -> None:
        self._now = ctx.clock.now
        self._stopping = stopping
        self._groups = DomainGroups(ctx.settings.domain_groups)
        self._pacer = Pacer(ctx.settings.pacing, ctx.clock.now, self._groups.ceiling)
        self._shared = SharedLimits(ctx.db, engine_limits(ctx.settings))
        self._sessions: Counter[str] = Counter()  # per domain group, being handed over now

    def group_of(self, address: str) -> str:
        return self._groups.group_of(address.rpartition("@")[2].lower())

    async def paced(self, relay: str, group: str) -> dt.datetime | None:
        """Wait for a session of the domain group and the pace of relay and group; when that
        is far off, the time to try again instead. None: it may go (call `ended` after)."""
        while True:
            later = self._session_free_at(group) or self._pacer.wait_for(relay_scope(relay), group)
            if later is None:
                self._sessions[group] += 1
                return None
            wait = later - self._now()
            if wait > LONGEST_WAIT or self._stopping.is_set():
                return later
            await self.unless_stopping(asyncio.sleep(max(wait.total_seconds(), 0.005)))

    def ended(self, group: str) -> None:
        self._sessions[group] -= 1

    def slowed(self, relay: str | None, group: str, wait_seconds: float | None) -> dt.datetime:
        """The relay (about the sender) or else the group asked to slow down: until when."""
        return self._pacer.slowed(relay_scope(relay) if relay else group, wait_seconds)

    async def shared(self, relay: str, group: str) -> Held | None:
        """The turn of the rates and quotas all workers share. None: it may go; else how long
        until it may (zero when the worker stops first)."""
        scopes = ("", relay_scope(relay), group_scope(group))
        while (short := self._shared.take(scopes)) is not None:
            wait = await asyncio.to_thread(self._shared.refill, short)
            if wait > LONGEST_WAIT.total_seconds():
                by_relay = short.name.startswith(relay_scope(relay))
                return Held(dt.timedelta(seconds=wait), by_relay)
            await self.unless_stopping(asyncio.sleep(wait))
            if self._stopping.is_set():
                return Held(dt.timedelta(0))
        return Held(dt.timedelta(0)) if self._stopping.is_set() else None

    async def unless_stopping(self, wait: Awaitable[None]) -> None:
        """Wait, but no longer than until the worker stops: a stop waits for no turn."""
        waiting = asyncio.ensure_future(wait)
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait((waiting, stopping), return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        stopping.cancel()

    def _session_free_at(self, group: str) -> dt.datetime | None:
        limits = self._groups.limits(group)
        if limits is None or not limits.concurrency or self._sessions[group] < limits.concurrency:
            return None
        return self._now() + _SESSION_POLL
