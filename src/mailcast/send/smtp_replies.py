"""The reading half of an SMTP client connection: bytes in, whole replies out, with a timeout."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

_LONGEST_LINE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    text: str  # the reply's lines without their codes, joined by "\n"


class SmtpError(Exception):
    """The session cannot go on: the server went away, or does not speak SMTP."""


class ReplyReader(asyncio.Protocol):
    """Cuts what the server sends into replies, and wakes the reader once it has enough.

    A wait that outlasts the timeout ends the connection: a watchdog looks every half timeout
    (cheaper than a timer per wait, two per message), so a wait ends within 1.5 timeouts.
    """

    def __init__(self, timeout: float) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self._replies: deque[Reply] = deque()
        self._timeout = timeout
        self._timed_out = False
        self._tail = b""
        self._lines: list[str] = []
        self._waiter: asyncio.Future[None] | None = None
        self._wanted = 0
        self._deadline = 0.0
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def is_open(self) -> bool:
        return not self.lost and self.transport is not None and not self.transport.is_closing()

    def write(self, data: bytes) -> None:
        if not self.is_open or self.transport is None:
            raise SmtpError("the connection is closed")
        self.transport.write(data)

    async def read(self, count: int) -> list[Reply]:
        """The next `count` replies, fewer only when the connection ended; TimeoutError."""
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self._timeout
        while len(self._replies) < count and not self.lost:
            self._waiter, self._wanted = loop.create_future(), count
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self._timed_out:
            raise TimeoutError(f"no answer from the relay in {self._timeout:g} s")
        replies = self._replies
        return [replies.popleft() for _ in range(min(count, len(replies)))]

    def abort(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._watch()

    def data_received(self, data: bytes) -> None:
        lines = (self._tail + data).split(b"\n")
        self._tail = lines.pop()
        for line in lines:
            self._line(line)
        if len(self._tail) > _LONGEST_LINE:
            self.abort()
        elif self._waiter is not None and len(self._replies) >= self._wanted:
            self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._wake()

    def _line(self, line: bytes) -> None:
        code = line[:3]
        if not code.isdigit():
            self.abort()  # not SMTP: what follows cannot be trusted to line up with commands
            return
        text = line[4:].rstrip(b"\r").decode("utf-8", "replace")
        if line[3:4] == b"-":
            self._lines.append(text)
        elif self._lines:
            self._replies.append(Reply(int(code), "\n".join([*self._lines, text])))
            self._lines = []
        else:
            self._replies.append(Reply(int(code), text))

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        if self._waiter is not None and loop.time() > self._deadline:
            self._timed_out = True
            self.abort()
        elif not self.lost:
            self._watchdog = loop.call_later(self._timeout / 2, self._watch)
