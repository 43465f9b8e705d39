"""The bounce receiver: mailcast's own SMTP server for DSNs, complaints and auto-replies.

RCPT is accepted only for signed VERP return paths, the configured feedback addresses and
List-Unsubscribe's mailto addresses (feedback/inbound.py).
Each message is committed to the database before the 250 reply, then read and applied.
It runs on its own thread and event loop: `with BounceReceiver(ctx, port=0) as r: r.port`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Self

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcast.context import Context
from mailcast.feedback import inbound
from mailcast.threaded_server import ThreadedServer

log = logging.getLogger(__name__)


class _Handler:
    """aiosmtpd hooks: the recipient check at RCPT, store-then-apply at DATA."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.stored = 0
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not inbound.accepts(self.ctx.signer, self.ctx.settings.bounces, address):
            return f"550 5.1.1 <{address}>: no such bounce address here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        received = inbound.Envelope(
            # aiosmtpd gives the null sender of bounces as "<>": kept as the empty address.
            mail_from="" if envelope.mail_from in (None, "<>") else envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            peer=_peer(session),
        )
        try:
            report_id = await asyncio.to_thread(inbound.store_report, self.ctx, raw, received)
        except Exception:
            log.exception("an inbound message could not be stored")
            # Not kept: the sender must keep it and try again.
            return "451 4.3.0 The message could not be stored; try again later"
        with self._lock:
            self.stored += 1
        # Kept, so the 250 below is safe whatever happens while it is read and applied: what
        # fails here stays `received` and the scheduler applies it later.
        try:
            await asyncio.to_thread(inbound.process_report, self.ctx, report_id)
        except Exception:
            log.exception("inbound report %s is kept but was not applied", report_id)
        return f"250 2.0.0 Ok: kept as report {report_id}"


def _peer(session: Session) -> str | None:
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return None if peer is None else str(peer)


class _ReceiverSMTP(SMTP):
    """One connection; tells the receiver when it ends, for the connection limit."""

    def __init__(self, handler: _Handler, on_close: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._on_close = on_close

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            self._on_close(self)


class _Busy(asyncio.Protocol):
    """Past the connection limit: say so (RFC 5321 421) and hang up."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        reply = f"421 4.7.0 {self.hostname} too many connections, try again later\r\n"
        transport.write(reply.encode())
        transport.close()


class BounceReceiver(ThreadedServer):
    """The receiver on its own thread; `start()` then `.port`, `stop()` (or a with-block)."""

    thread_name = "bounce receiver"

    def __init__(self, ctx: Context, host: str | None = None, port: int | None = None) -> None:
        self.settings = ctx.settings.bounces
        super().__init__(host or self.settings.host, self.settings.port if port is None else port)
        self.ctx = ctx
        self.hostname = ctx.settings.bounce_domain
        self.handler = _Handler(ctx)
        self._open: set[_ReceiverSMTP] = set()

    @property
    def stored(self) -> int:
        """Messages kept since start."""
        return self.handler.stored

    def start(self, timeout: float = 10.0) -> Self:
        _ = self.ctx.signer  # reads (or creates) the signing key now, not on the first RCPT
        return super().start(timeout)

    def _open_transports(self) -> list[asyncio.BaseTransport]:
        return [c.transport for c in list(self._open) if c.transport is not None]

    def _new_connection(self) -> asyncio.Protocol:
        if len(self._open) >= self.settings.max_connections:
            return _Busy(self.hostname)
        connection = _ReceiverSMTP(
            self.handler,
            self._open.discard,
            hostname=self.hostname,
            ident="mailcast bounce receiver",
            enable_SMTPUTF8=True,
            data_size_limit=self.settings.max_message_bytes,
            timeout=self.settings.timeout_seconds,
            loop=self._loop,
        )
        self._open.add(connection)
        return connection
