"""Helpers of the lifecycle tests: a relay MTA on loopback that can be slow, refuse logins or
offer TLS; waiting for what another thread does; reading the sending log.

A plain module, not a conftest (a second module named `conftest` breaks mypy).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from mailcast.context import Context
from mailcast.store import messages as message_store
from mailcast.threaded_server import ThreadedServer
from tls_certs import self_signed


class _Counting:
    """Accepts messages, after holding each DATA `hold` seconds; counts per recipient."""

    def __init__(self, hold: float, mail_reply: str | None, accept_first: int) -> None:
        self.hold = hold
        self.mail_reply = mail_reply
        self.accept_first = accept_first
        self._lock = threading.Lock()
        self._received: Counter[str] = Counter()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.mail_reply is not None and self.received().total() >= self.accept_first:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.hold)  # a slow relay: the send takes a while
        with self._lock:
            self._received.update(envelope.rcpt_tos)
        return "250 2.0.0 OK queued"

    def received(self) -> Counter[str]:
        with self._lock:
            return Counter(self._received)


class Relay(ThreadedServer):
    """A relay MTA on loopback; `smtp_options` go to aiosmtpd (authenticator, TLS, ...).

    `mail_reply` answers MAIL commands with that reply instead of accepting them, once
    `accept_first` messages were accepted.
    """

    thread_name = "test relay"

    def __init__(
        self,
        *,
        hold: float = 0.0,
        mail_reply: str | None = None,
        accept_first: int = 0,
        **smtp_options: Any,
    ) -> None:
        super().__init__("127.0.0.1", 0)
        self.handler = _Counting(hold, mail_reply, accept_first)
        self.smtp_options = smtp_options
        self._connections: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def received(self) -> Counter[str]:
        """How many times each recipient was in an accepted message."""
        return self.handler.received()

    def count(self) -> int:
        return sum(self.received().values())

    def _new_connection(self) -> SMTP:
        connection = SMTP(self.handler, hostname="relay.test", loop=self._loop, **self.smtp_options)
        self._connections.add(connection)
        return connection

    def _open_transports(self) -> list[asyncio.BaseTransport]:
        return [c.transport for c in list(self._connections) if c.transport is not None]


def refuse_every_login(*_args: Any) -> AuthResult:
    return AuthResult(success=False, handled=False)


def untrusted_tls_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a self-signed certificate, which clients do not trust."""
    server, _ = self_signed(folder)
    return server


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for something another thread does (the engine, the relay); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def holds(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether the condition stays true for that long while the engine keeps running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not condition():
            return False
        time.sleep(0.01)
    return condition()


def sending_log(ctx: Context, delivery_id: int) -> dict[str, dict[str, Any]]:
    """The delivery's sending log, one line per address."""
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=100_000)
    return {row["address"]: dict(row) for row in rows}


def in_flight(ctx: Context, delivery_id: int) -> int:
    with ctx.db.read() as conn:
        return message_store.count_in_flight(conn, delivery_id)
