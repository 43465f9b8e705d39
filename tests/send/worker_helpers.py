"""Helpers of the send tests: real `mailcast worker` and `mailcast serve` processes, and a
relay on loopback that counts each recipient as its DATA arrives and can hold the reply.

A plain module, not a conftest (a second module named `conftest` breaks mypy).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcast.context import Context
from mailcast.store import messages as message_store
from mailcast.threaded_server import ThreadedServer


class CountingRelay(ThreadedServer):
    """Counts every recipient when its message has arrived, then answers 250 after `hold`
    seconds; `held=True` answers only once `release()` is called (the worker waits in DATA).
    """

    thread_name = "counting relay"

    def __init__(self, *, hold: float = 0.0, held: bool = False) -> None:
        super().__init__("127.0.0.1", 0)
        self.hold = hold
        self._held = held
        self._lock = threading.Lock()
        self._received: Counter[str] = Counter()
        self._released: asyncio.Event | None = None

    def received(self) -> Counter[str]:
        with self._lock:
            return Counter(self._received)

    def count(self) -> int:
        return self.received().total()

    def release(self) -> None:
        """Answer every held DATA, and every later one at once."""
        if self._loop is not None and self._released is not None:
            self._loop.call_soon_threadsafe(self._released.set)

    async def _background(self) -> list[asyncio.Task[None]]:
        self._released = asyncio.Event()
        if not self._held:
            self._released.set()
        return []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self._received.update(envelope.rcpt_tos)
        assert self._released is not None
        await self._released.wait()
        await asyncio.sleep(self.hold)
        return "250 2.0.0 OK queued"

    def _new_connection(self) -> SMTP:
        return SMTP(self, hostname="relay.test", loop=self._loop)


def start_mailcast(
    ctx: Context,
    relay_port: int,
    *command: str,
    settings: Any = None,
    **send: Any,
) -> subprocess.Popen[str]:
    """`python -m mailcast <command>` on the test database, relaying to `relay_port`.

    `send` settings (lease_seconds=1, ...) reach it as MAILCAST_SEND__* variables; other
    `settings` (a dict by name, values as JSON where they are tables) as MAILCAST_<NAME>.
    """
    env = os.environ | {
        "MAILCAST_DATABASE_URL": ctx.settings.database_url,
        "MAILCAST_SECRET_KEY": ctx.settings.secret_key or "",
        "MAILCAST_CONFIG": "/nonexistent/mailcast.toml",
        "MAILCAST_RELAY__PORT": str(relay_port),
        "MAILCAST_SEND__POLL_SECONDS": "0.1",
    }
    env |= {f"MAILCAST_SEND__{name.upper()}": str(value) for name, value in send.items()}
    env |= {f"MAILCAST_{name.upper()}": value for name, value in (settings or {}).items()}
    return subprocess.Popen(
        [sys.executable, "-m", "mailcast", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120.0) -> None:
    """Wait for a process that ends by itself (`--until-idle`); it must end well."""
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def in_flight(ctx: Context, delivery_id: int) -> int:
    with ctx.db.read() as conn:
        return message_store.count_in_flight(conn, delivery_id)


def sending_log(ctx: Context, delivery_id: int) -> dict[str, dict[str, Any]]:
    """The delivery's sending log, one line per address."""
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=100_000)
    return {row["address"]: dict(row) for row in rows}
