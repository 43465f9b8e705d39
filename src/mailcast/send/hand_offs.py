"""Hand-offs counted as begun before their DATA, many in one write (a group commit).

A worker killed between the relay's 250 and the recording of the batch leaves these counts
behind: the message's next hand-off then shows as a re-send, so duplicates are visible.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mailcast.store.db import WriterBusy

# A write costs about the same for one mark as for twenty (a transaction, a commit): below
# this many waiting, the writer waits this long for the other sending tasks to join it. The
# senders wait for their mark several times longer than that anyway (bench/send_throughput.py).
_GROUP = 16
_GATHER_SECONDS = 0.001


class HandOffMarks:
    """Every sending task waits for its mark; those that arrive during a write share the next."""

    def __init__(
        self, write: Callable[[list[int], bool], set[int]], *, inline: bool = False
    ) -> None:
        self._write = write  # marks these message ids (waiting for the writer?), returns those held
        # On SQLite a mark is a few hundred µs of local work: the hop to a thread and back
        # (and the thread's wait for the interpreter the sending tasks keep busy) cost the
        # waiting senders more than the write itself. A server is written to from a thread.
        self._inline = inline
        self._waiting: dict[int, asyncio.Future[bool]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def begin(self, message_id: int) -> bool:
        """Once the mark is committed: True; False when the message is no longer held."""
        future = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = future
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        while self._waiting:
            if len(self._waiting) < _GROUP:
                await asyncio.sleep(_GATHER_SECONDS)
            batch, self._waiting = self._waiting, {}
            marked: set[int] = set()
            failure: Exception | None = None
            try:
                marked = await self._marked(list(batch))
            except Exception as exc:  # the senders give their messages back, unsent
                failure = exc
            _settle(batch, marked, failure)

    async def _marked(self, message_ids: list[int]) -> set[int]:
        if self._inline:
            try:
                return self._write(message_ids, False)
            except WriterBusy:
                # Another thread is writing (a batch's record): waiting for it here would
                # hold every session of the loop, not only those that wait for a mark.
                pass
        return await asyncio.to_thread(self._write, message_ids, True)


def _settle(
    batch: dict[int, asyncio.Future[bool]], marked: set[int], failure: Exception | None
) -> None:
    for message_id, future in batch.items():
        if future.done():  # its sender was cancelled meanwhile
            continue
        if failure is not None:
            future.set_exception(failure)
        else:
            future.set_result(message_id in marked)
