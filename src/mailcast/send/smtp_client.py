"""A lean SMTP client: MAIL, RCPT and DATA in one write where the relay pipelines (RFC 2920)."""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import re
import socket
import ssl
from collections.abc import Callable
from typing import NamedTuple, NoReturn

from mailcast.send.smtp_replies import Reply, ReplyReader, SmtpError

__all__ = ["EnvelopeCommands", "Refused", "Reply", "SmtpClient", "SmtpError", "Unsupported"]

# The commands whose refusal `Refused` names; the end of a message's data has no verb of its own.
MAIL, RCPT, DATA, END_OF_DATA = "MAIL", "RCPT", "DATA", "end of data"
_CLOSING = 421  # the server closes the session after this reply (RFC 5321 3.8)
_LINE_END = re.compile(rb"\r\n|\r|\n")
_AUTH_METHODS = ("CRAM-MD5", "PLAIN", "LOGIN")  # the order aiosmtplib tries them in


class Unsupported(Exception):
    """The server does not offer what the session needs (STARTTLS, AUTH)."""


class Refused(Exception):
    """The server answered `command` with a reply other than the one that lets it go on."""

    def __init__(self, command: str, reply: Reply) -> None:
        super().__init__(f"{command}: {reply.code} {reply.text}")
        self.command, self.reply = command, reply


class EnvelopeCommands(NamedTuple):
    """What MAIL FROM and RCPT TO of one transaction say."""

    sender: str
    recipient: str
    mail_options: list[str]
    rcpt_options: list[str]


class SmtpClient:
    """One SMTP session; `send` hands over one message per transaction, reusing the session."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.extensions: dict[str, str] = {}
        self._reader = ReplyReader(timeout)
        self._pipelining = False
        self._reset_first = False  # a transaction may be left open: RSET before the next MAIL
        # The next transaction's commands, sent with the last message's data (RFC 2920 3.1),
        # their replies not read yet.
        self._announced: EnvelopeCommands | None = None

    @property
    def is_open(self) -> bool:
        return self._reader.is_open

    @property
    def announced(self) -> EnvelopeCommands | None:
        """The envelope whose commands went with the last message; only it may be sent next."""
        return self._announced

    def supports(self, extension: str) -> bool:
        return extension.upper() in self.extensions

    async def connect(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> Reply:
        """Connect (TLS at once with a context), read the greeting and say EHLO (or HELO)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeout):
            await loop.create_connection(
                lambda: self._reader,
                host,
                port,
                ssl=tls,
                server_hostname=host if tls else None,
            )
        (greeting,) = await self._replies(1)
        if greeting.code != 220:
            self.abort()
            raise Refused("greeting", greeting)
        return await self.hello()

    async def hello(self) -> Reply:
        name = await asyncio.to_thread(_local_hostname)
        reply = await self.command(f"EHLO {name}")
        if reply.code == 250:
            self.extensions = _extensions(reply.text)
        else:
            self.extensions = {}
            reply = await self.expect(f"HELO {name}", 250, "HELO")
        self._pipelining = "PIPELINING" in self.extensions
        return reply

    async def starttls(self, context: ssl.SSLContext, host: str) -> None:
        """Upgrade the session to TLS and say EHLO again, as RFC 3207 asks."""
        if not self.supports("STARTTLS"):
            raise Unsupported("SMTP STARTTLS extension not supported by server.")
        await self.expect("STARTTLS", 220, "STARTTLS")
        transport = self._reader.transport
        assert transport is not None
        upgraded = await asyncio.get_running_loop().start_tls(
            transport,
            self._reader,
            context,
            server_hostname=host,
            ssl_handshake_timeout=self.timeout,
        )
        assert isinstance(upgraded, asyncio.Transport)
        self._reader.transport = upgraded
        await self.hello()

    async def login(self, username: str, password: str) -> None:
        """AUTH with the first method both sides know; Refused("AUTH") when it is refused."""
        if not self.supports("AUTH"):
            raise Unsupported("SMTP AUTH extension not supported by server.")
        offered = self.extensions["AUTH"].upper().split()
        method = next((m for m in _AUTH_METHODS if m in offered), None)
        if method is None:
            raise Unsupported(f"no authentication method in common: {' '.join(offered)}")
        if method == "PLAIN":
            secret = _b64(f"\0{username}\0{password}")
            await self.expect(f"AUTH PLAIN {secret}", 235, "AUTH")
        elif method == "LOGIN":
            await self.expect("AUTH LOGIN", 334, "AUTH")
            await self.expect(_b64(username), 334, "AUTH")
            await self.expect(_b64(password), 235, "AUTH")
        else:
            challenge = await self.expect("AUTH CRAM-MD5", 334, "AUTH")
            digest = hmac.digest(password.encode(), base64.b64decode(challenge.text), "md5")
            await self.expect(_b64(f"{username} {digest.hex()}"), 235, "AUTH")

    async def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        mail_options: list[str],
        rcpt_options: list[str],
        *,
        following: Callable[[], EnvelopeCommands | None] | None = None,
    ) -> Reply:
        """One transaction: the envelope's commands grouped, then the message; the last reply.

        `following` names the next transaction when it is known by the time this message's
        data goes: its commands then go in the same write, and its `send` only reads their
        replies. Refused names the command refused; SmtpError means no answer came (for the
        message, after its data was sent: it may or may not have been taken).
        """
        commands = EnvelopeCommands(sender, recipient, mail_options, rcpt_options)
        group, replies = await self._envelope_replies(commands)
        self._check_envelope(group, replies)
        announced = self._announcement(following)
        self._announced = announced[0] if announced else None
        self._write(_wire_data(data) + (announced[1] if announced else b""))
        (end,) = await self._replies(1)
        self._reset_first = False
        if end.code // 100 != 2:
            self._refused(END_OF_DATA, end)
        return end

    async def _envelope_replies(
        self, commands: EnvelopeCommands
    ) -> tuple[list[tuple[str, bytes]], list[Reply]]:
        group = _group(commands)
        if self._announced is not None:
            if self._announced != commands:
                raise ValueError("another transaction was announced: abort the session first")
            self._announced = None
            self._reset_first = True
            return group, await self._replies(len(group), allow_fewer=True)
        if self._reset_first:
            group.insert(0, ("RSET", b"RSET\r\n"))
        self._reset_first = True  # until the message's own reply closes the transaction
        return group, await self._exchange(group)

    def _announcement(
        self, following: Callable[[], EnvelopeCommands | None] | None
    ) -> tuple[EnvelopeCommands, bytes] | None:
        """The next transaction and its command lines, when it can go with this data."""
        if following is None or not self._pipelining:
            return None
        commands = following()
        if commands is None:
            return None
        try:
            lines = b"".join(line for _, line in _group(commands))
        except Refused:  # its own send refuses it, as it would without the announcement
            return None
        return commands, lines

    async def quit(self) -> None:
        if self._announced is not None:
            # Its DATA may have been taken: only a cut connection ends it with nothing delivered.
            self.abort()
            return
        try:
            await self.command("QUIT")
        finally:
            self.abort()

    def abort(self) -> None:
        self._reader.abort()

    async def command(self, line: str) -> Reply:
        self._write(line.encode() + b"\r\n")
        (reply,) = await self._replies(1)
        return reply

    async def expect(self, line: str, code: int, name: str) -> Reply:
        reply = await self.command(line)
        if reply.code != code:
            self._refused(name, reply)
        return reply

    async def _exchange(self, group: list[tuple[str, bytes]]) -> list[Reply]:
        """Grouped when the server pipelines; else one by one, up to the first refusal."""
        if self._pipelining:
            self._write(b"".join(line for _, line in group))
            return await self._replies(len(group), allow_fewer=True)
        replies: list[Reply] = []
        for _, line in group:
            self._write(line)
            got = await self._replies(1, allow_fewer=True)
            replies += got
            if not got or got[0].code >= 400:
                break
        return replies

    def _check_envelope(self, group: list[tuple[str, bytes]], replies: list[Reply]) -> None:
        for (command, _), reply in zip(group, replies, strict=False):
            if reply.code // 100 != (3 if command == DATA else 2):
                if replies[-1].code == 354:
                    # DATA taken despite the refusal: only a cut connection ends it for sure
                    # with nothing delivered.
                    self.abort()
                self._refused(command, reply)
        if len(replies) < len(group):
            raise SmtpError("the connection closed before the relay answered")

    def _refused(self, command: str, reply: Reply) -> NoReturn:
        if reply.code == _CLOSING:
            self.abort()
        raise Refused(command, reply)

    def _write(self, data: bytes) -> None:
        self._reader.write(data)

    async def _replies(self, count: int, *, allow_fewer: bool = False) -> list[Reply]:
        """The next `count` replies; fewer only when the connection ended (allow_fewer)."""
        try:
            got = await self._reader.read(count)
        except asyncio.CancelledError:
            self.abort()  # the replies still to come would answer the next commands
            raise
        if len(got) < count and not allow_fewer:
            raise SmtpError("the connection closed before the relay answered")
        return got


def _group(commands: EnvelopeCommands) -> list[tuple[str, bytes]]:
    return [
        (MAIL, _command_line(MAIL, commands.sender, commands.mail_options)),
        (RCPT, _command_line(RCPT, commands.recipient, commands.rcpt_options)),
        (DATA, b"DATA\r\n"),
    ]


def _command_line(command: str, address: str, options: list[str]) -> bytes:
    """MAIL FROM or RCPT TO; an address that would break the line is refused before it."""
    if not address.isprintable() or "<" in address or ">" in address:
        # As a server would refuse it (501 5.1.3): nothing goes on the wire.
        raise Refused(command, Reply(501, f"5.1.3 not an address for the envelope: {address!r}"))
    verb = "MAIL FROM:" if command == MAIL else "RCPT TO:"
    line = f"{verb}<{address}>{' ' if options else ''}{' '.join(options)}\r\n"
    return line.encode("ascii") if line.isascii() else line.encode("utf-8")


def _wire_data(data: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, dot-stuffed, ended by CRLF.CRLF."""
    crlf = data.count(b"\r\n")
    if crlf != data.count(b"\n") or crlf != data.count(b"\r"):
        data = _LINE_END.sub(b"\r\n", data)
    data = data.replace(b"\r\n.", b"\r\n..")
    if data.startswith(b"."):
        data = b"." + data
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _extensions(ehlo_text: str) -> dict[str, str]:
    """EHLO's keywords (upper case) and their parameters; the first line is the greeting."""
    extensions: dict[str, str] = {}
    for line in ehlo_text.split("\n")[1:]:
        keyword, _, params = line.strip().partition(" ")
        if not keyword:
            continue
        if keyword.upper().startswith("AUTH="):  # the old form, still sent by some servers
            keyword, params = "AUTH", f"{keyword[5:]} {params}"
        keyword = keyword.upper()
        extensions[keyword] = f"{extensions.get(keyword, '')} {params}".strip()
    return extensions


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


@functools.cache
def _local_hostname() -> str:
    name = socket.getfqdn()
    return name if name.isascii() and name.isprintable() and " " not in name else "localhost"
