"""An asyncio SMTP server on a thread of its own, started and stopped from plain code.

The bounce receiver and the sandbox MTA both run this way, so that a CLI command, a test or
`mailcast serve` can hold one in a with-block whatever event loop (if any) it runs itself.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Self


class ThreadedServer:
    """Subclasses make connections (`_new_connection`) and may run background tasks."""

    thread_name = "smtp-server"

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port  # 0 asks the system for a free port; the bound one once started
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"the {self.thread_name} is already running")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the {self.thread_name} did not start within {timeout} s")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _new_connection(self) -> asyncio.Protocol:
        raise NotImplementedError

    def _open_transports(self) -> list[asyncio.BaseTransport]:
        """Connections still open at stop: closed, or their sessions would outlive it."""
        return []

    async def _background(self) -> list[asyncio.Task[None]]:
        """Tasks to run beside the server on its loop; cancelled at stop."""
        return []

    async def _closed(self) -> None:
        """What to release on the loop once the server has closed (its own connections)."""

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:
            self._error = error
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopping = asyncio.Event()
        server = await loop.create_server(self._new_connection, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        tasks = await self._background()
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            for task in tasks:
                task.cancel()
            server.close()
            for transport in self._open_transports():
                transport.close()
            await server.wait_closed()
            await self._closed()
