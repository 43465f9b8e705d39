"""The sandbox MTA: an aiosmtpd server on loopback, on its own thread, for demo, CLI and tests."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Self

from aiosmtpd.smtp import SMTP

from mailcast.clock import Clock, SystemClock
from mailcast.sandbox.handler import Received, Refusal, SandboxHandler, SandboxSMTP
from mailcast.sandbox.rules import DEFAULT_RULES, Reply, Rule, Rules, default_rules, prefix_rules

__all__ = [
    "DEFAULT_RULES",
    "Received",
    "Refusal",
    "Reply",
    "Rule",
    "Rules",
    "SandboxMTA",
    "default_rules",
    "prefix_rules",
    "run_sandbox",
]


class SandboxMTA:
    """The sandbox on its own thread and event loop; `with SandboxMTA(port=0) as mta: ...`.

    With `keep_bodies=False` (long runs, benchmarks) only the counters are kept: `count`,
    `recipients_counter()` and `mailcast_messages_counter()`; `received()` stays empty.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rules: Rules = default_rules,
        keep_bodies: bool = True,
        clock: Clock | None = None,
        on_message: Callable[[Received], None] | None = None,
        hostname: str = "sandbox.mailcast.localhost",
        data_size_limit: int = 32 * 1024 * 1024,
    ) -> None:
        self.host = host
        self.port = port  # the bound port once started (0 asks the system for a free one)
        self.hostname = hostname
        self.data_size_limit = data_size_limit
        self.handler = SandboxHandler(rules, keep_bodies, clock or SystemClock(), on_message)
        self._connections: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # Lifecycle

    def start(self, timeout: float = 10.0) -> Self:
        if self._thread is not None:
            raise RuntimeError("the sandbox MTA is already running")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="sandbox-mta", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the sandbox MTA did not start within {timeout} s")
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

    # What was received (safe from any thread)

    @property
    def count(self) -> int:
        return self.handler.count

    def received(self) -> list[Received]:
        return self.handler.received()

    def refusals(self) -> list[Refusal]:
        return self.handler.refusals()

    def recipients_counter(self) -> Counter[str]:
        """How many times each recipient was in an accepted message."""
        return self.handler.recipients_counter()

    def mailcast_messages_counter(self) -> Counter[str]:
        """How many times each X-Mailcast-Message value arrived: above 1 is a double send."""
        return self.handler.mailcast_messages_counter()

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until at least n messages were accepted; False on timeout."""
        return self.handler.wait_for(n, timeout)

    def reset(self) -> None:
        self.handler.reset()

    # The loop thread

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
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            # Clients still connected would keep their sessions alive past the stop.
            for connection in list(self._connections):
                if connection.transport is not None:
                    connection.transport.close()
            await server.wait_closed()

    def _new_connection(self) -> SMTP:
        connection = SandboxSMTP(
            self.handler,
            hostname=self.hostname,
            ident="mailcast sandbox",
            enable_SMTPUTF8=True,
            data_size_limit=self.data_size_limit,
            loop=self._loop,
        )
        self._connections.add(connection)
        return connection


def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 2525,
    *,
    out: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    report_every: float = 5.0,
) -> int:
    """Serve until Ctrl-C (or `stop` is set), reporting the count; returns messages received."""
    stop = stop or threading.Event()
    with SandboxMTA(host, port, keep_bodies=False) as mta:
        out(f"sandbox MTA listening on {mta.host}:{mta.port} (Ctrl-C stops)")
        reported = 0
        try:
            while not stop.wait(report_every):
                if mta.count != reported:
                    reported = mta.count
                    out(f"{reported} messages received")
        except KeyboardInterrupt:
            pass
        out(f"sandbox MTA stopped after {mta.count} messages")
        return mta.count
