"""An SMTP server on loopback (aiosmtpd) that records what it read, in the chunks it read it,
and answers MAIL, RCPT, DATA or the end of a message as a test scripts it.

A plain module, not a conftest (a second module named `conftest` breaks mypy).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcast.sandbox.handler import SandboxSMTP
from mailcast.threaded_server import ThreadedServer

DROP = "drop"  # a scripted answer: close the connection instead of replying


@dataclass
class Script:
    """What the relay answers, by command and recipient ("*": any); None accepts."""

    pipelining: bool = True
    replies: dict[tuple[str, str], str] = field(default_factory=dict)

    def reply(self, command: str, recipient: str) -> str | None:
        return self.replies.get((command, recipient)) or self.replies.get((command, "*"))


class _Recording(SandboxSMTP):
    """Keeps every chunk read, and can refuse the DATA command itself."""

    relay: RecordingRelay

    def data_received(self, data: bytes) -> None:
        self.relay.note_read(data)
        super().data_received(data)

    async def smtp_DATA(self, arg: str | None) -> None:
        envelope = self.envelope
        recipient = envelope.rcpt_tos[0] if envelope and envelope.rcpt_tos else ""
        refusal = self.relay.script.reply("DATA", recipient)
        if refusal is not None:
            await self.push(refusal)
            return
        await super().smtp_DATA(arg)


class _Handler:
    def __init__(self, relay: RecordingRelay) -> None:
        self.relay = relay

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, lines: list[str]
    ) -> list[str]:
        session.host_name = hostname
        extra = ["250-DSN", *(["250-PIPELINING"] if self.relay.script.pipelining else [])]
        return [*lines[:-1], *extra, lines[-1]]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        reply = self.relay.script.reply("RCPT", address)
        if reply is None:
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"
        if reply.startswith("421"):
            _close_soon(server)
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.relay.script.reply("END", envelope.rcpt_tos[0])
        if reply == DROP:
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            return "250 never sent"
        if reply is not None:
            return reply
        self.relay.note_message(envelope)
        return f"250 2.0.0 Ok: queued as Q{len(self.relay.messages)}"


def _close_soon(server: SMTP) -> None:
    """After the reply has gone: a server closes the session after a 421."""
    transport = server.transport
    assert transport is not None
    asyncio.get_running_loop().call_soon(transport.close)


class RecordingRelay(ThreadedServer):
    thread_name = "recording relay"

    def __init__(self, script: Script | None = None, **smtp_options: Any) -> None:
        super().__init__("127.0.0.1", 0)
        self.script = script or Script()
        self.smtp_options = smtp_options
        self.connections = 0
        self.reads: list[bytes] = []
        self.messages: list[Envelope] = []
        self._lock = threading.Lock()

    def note_read(self, data: bytes) -> None:
        with self._lock:
            self.reads.append(data)

    def note_message(self, envelope: Envelope) -> None:
        with self._lock:
            self.messages.append(envelope)

    def reads_with(self, command: bytes) -> list[bytes]:
        """The chunks read that hold this command at the start of a line."""
        with self._lock:
            return [r for r in self.reads if r.startswith(command) or b"\n" + command in r]

    def _new_connection(self) -> SMTP:
        self.connections += 1
        options = {"enable_SMTPUTF8": True, **self.smtp_options}
        connection = _Recording(_Handler(self), hostname="relay.test", loop=self._loop, **options)
        connection.relay = self
        return connection
