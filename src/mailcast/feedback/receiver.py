"""The bounce receiver: mailcast's own SMTP server for DSNs, complaints and auto-replies.

RCPT is accepted only for signed VERP return paths, the configured feedback addresses and
List-Unsubscribe's mailto addresses (feedback/inbound.py).
Each message is committed to the database before the 250 reply, with the others arriving
at the same time (group_commit.py, feedback/keeping.py); a report consumer
(feedback/consumer.py) reads and applies it afterwards, in batches.
It runs on its own thread and event loop: `with BounceReceiver(ctx, port=0) as r: r.port`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any, Self

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcast.context import Context
from mailcast.feedback import inbound
from mailcast.feedback.data_reader import read_data
from mailcast.feedback.keeping import keeper_for
from mailcast.feedback.report_consumer import ReportConsumer
from mailcast.group_commit import GroupCommit
from mailcast.store.inbound import Arrived
from mailcast.threaded_server import ThreadedServer

log = logging.getLogger(__name__)

# A commit waits this long for the other connections' messages, unless all of them are in:
# a millisecond more before each 250, a quarter less CPU per message on PostgreSQL.
GATHER_SECONDS = 0.001


class _Handler:
    """aiosmtpd hooks: the recipient check at RCPT, keeping the message at DATA."""

    def __init__(self, ctx: Context, keeper: GroupCommit[Arrived, int]) -> None:
        self.ctx = ctx
        self.keeper = keeper

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not inbound.accepts(self.ctx.signer, self.ctx.settings.bounces, address):
            return f"550 5.1.1 <{address}>: no such bounce address here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        received = inbound.Envelope(
            # aiosmtpd gives the null sender of bounces as "<>": kept as the empty address.
            mail_from="" if envelope.mail_from in (None, "<>") else envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            peer=_peer(session),
        )
        arrived = inbound.arrived(self.ctx, envelope.original_content or b"", received)
        try:
            report_id = await self.keeper.submit(arrived)
        except Exception:
            # Not kept: the sender must keep it and try again.
            return "451 4.3.0 The message could not be stored; try again later"
        return f"250 2.0.0 Ok: kept as report {report_id}"


def _peer(session: Session) -> str | None:
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return None if peer is None else str(peer)


# A path as MTAs write it in MAIL and RCPT: <dot-atom@domain>, maybe parameters after it.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(
    rf"<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>(?: +([^(]*))?"
)


class _ReceiverSMTP(SMTP):
    """One connection; tells the receiver when it ends, for the connection limit."""

    def __init__(self, handler: _Handler, on_close: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._on_close = on_close
        self._replies: list[bytes] = []

    async def push(self, status: str | bytes) -> None:
        # RFC 2920: replies to pipelined commands go together once the commands in hand are
        # answered: one write (and one wake-up of the client) instead of one per reply.
        reply = status.encode() if isinstance(status, str) else status
        self._replies.append(reply + b"\r\n")
        if self._reader._buffer:  # type: ignore[attr-defined]  # more commands already here
            return
        self._writer.write(b"".join(self._replies))
        self._replies.clear()
        await self._writer.drain()

    def _reset_timeout(self, duration: float | None = None) -> None:
        # aiosmtpd moves its idle timer at every command, a twentieth of taking in a DSN:
        # here the timer stays, and when it fires it looks at the time of the last command.
        self._idle_until = self.loop.time() + (duration or self._timeout_duration)
        timer = self._timeout_handle
        if timer is None or self._idle_until < timer.when():
            if timer is not None:
                timer.cancel()
            self._timeout_handle = self.loop.call_at(self._idle_until, self._idle_check)

    def _idle_check(self) -> None:
        if self.loop.time() < self._idle_until:
            self._timeout_handle = self.loop.call_at(self._idle_until, self._idle_check)
        else:
            self._timeout_cb()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        # aiosmtpd reads every path with the email package's RFC 5322 parser: a tenth of
        # taking in a DSN. The plain paths of bounce traffic read the same way with this.
        if arg == "<>":
            return "<>", ""
        plain = _PLAIN_PATH.fullmatch(arg)
        if plain is None:
            return super()._getaddr(arg)
        address = plain.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, plain.group(2) or ""

    async def smtp_DATA(self, arg: str) -> None:
        # aiosmtpd's own, but for reading the data (feedback/data_reader.py).
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            content, refusal = await read_data(
                self._reader, self.data_size_limit, self.line_length_limit
            )
        except asyncio.CancelledError:
            log.info("Connection lost during DATA")
            self._writer.close()
            raise
        if refusal is not None:
            self._set_post_data_state()
            await self.push(refusal)
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)

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

    def __init__(
        self,
        ctx: Context,
        host: str | None = None,
        port: int | None = None,
        *,
        consume: bool = True,
    ) -> None:
        self.settings = ctx.settings.bounces
        super().__init__(host or self.settings.host, self.settings.port if port is None else port)
        self.ctx = ctx
        self.hostname = ctx.settings.bounce_domain
        self.consumer = ReportConsumer(ctx) if consume else None
        self.stored = 0  # messages kept since start
        self.keeper = keeper_for(ctx)
        self.keeping = GroupCommit(
            self.keeper.keep,
            self._kept,
            gather_seconds=GATHER_SECONDS,
            callers=lambda: len(self._open),
        )
        self.handler = _Handler(ctx, self.keeping)
        self._open: set[_ReceiverSMTP] = set()

    def _kept(self, count: int) -> None:
        self.stored += count
        if self.consumer is not None:
            self.consumer.wake()

    def start(self, timeout: float = 10.0) -> Self:
        _ = self.ctx.signer  # reads (or creates) the signing key now, not on the first RCPT
        if self.consumer is not None:
            self.consumer.start()
        return super().start(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, then let the consumer finish the batch in hand."""
        try:
            super().stop(timeout)
        finally:
            if self.consumer is not None:
                self.consumer.stop()

    def wait_applied(self, timeout: float = 30.0) -> None:
        """Until every report kept so far has been read and applied (tests, the demo)."""
        deadline = time.monotonic() + timeout
        while inbound.unread(self.ctx):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reports still unread after {timeout} s")
            if self.consumer is not None:
                self.consumer.wake()
            time.sleep(0.02)

    async def _closed(self) -> None:
        await self.keeper.close()

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
