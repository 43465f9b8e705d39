"""Group commit: what callers submit while a commit runs goes into the next one, together.

A commit per caller makes a server as slow as its database's commits; grouping the callers
that wait at the same time keeps each caller's promise (it is answered once its own item is
committed) at any arrival rate. The bounce receiver keeps messages this way, the webhook
endpoints apply events this way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """`await group.submit(item)`: its result once `commit` has taken it, with the others.

    `commit` is awaited on the loop (it may hand the work to a thread, or wait for the
    database on the loop), takes the items in order and returns a result for each. When
    a group fails it is committed again one item at a time, so an item the database refuses
    costs only its own caller (who gets the exception).
    """

    def __init__(
        self,
        commit: Callable[[list[T]], Awaitable[list[R]]],
        on_committed: Callable[[int], None],
        *,
        gather_seconds: float = 0.0,
        callers: Callable[[], int] | None = None,
    ) -> None:
        self.commit = commit
        self.on_committed = on_committed  # told how many items each commit took
        # A commit waits up to `gather_seconds` for more items, unless every one of the
        # `callers()` that could submit one already has: fewer, larger commits.
        self.gather_seconds = gather_seconds
        self.callers = callers
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._committing: asyncio.Task[None] | None = None
        self._in_commit = 0
        self._all_in: asyncio.Event | None = None

    @property
    def pending(self) -> int:
        """Items submitted and not committed yet."""
        return len(self._waiting) + self._in_commit

    async def submit(self, item: T) -> R:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._committing is None:
            self._committing = asyncio.create_task(self._commit_while_waiting())
        elif self._all_in is not None and self._everyone_waits():
            self._all_in.set()
        return await future

    def _everyone_waits(self) -> bool:
        return self.callers is not None and len(self._waiting) >= self.callers()

    async def _gather(self) -> None:
        if not self.gather_seconds or self._everyone_waits():
            return
        self._all_in = asyncio.Event()
        try:
            await asyncio.wait_for(self._all_in.wait(), self.gather_seconds)
        except TimeoutError:
            pass
        finally:
            self._all_in = None

    async def _commit_while_waiting(self) -> None:
        try:
            while self._waiting:
                await self._gather()
                group, self._waiting = self._waiting, []
                self._in_commit = len(group)
                if not await self._commit(group) and len(group) > 1:
                    for one in group:
                        await self._commit([one])
        finally:
            self._committing = None
            self._in_commit = 0

    async def _commit(self, group: list[tuple[T, asyncio.Future[R]]]) -> bool:
        try:
            results = await self.commit([item for item, _ in group])
        except Exception as exc:
            if len(group) == 1 and not group[0][1].done():
                log.error("a commit failed", exc_info=exc)
                group[0][1].set_exception(exc)
            return False
        for (_, future), result in zip(group, results, strict=True):
            # A caller gone meanwhile (its connection lost) leaves its item committed anyway.
            if not future.done():
                future.set_result(result)
        self.on_committed(len(group))
        return True
