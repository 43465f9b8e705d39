"""SMTP connections to the relay, kept open and reused, one per sending task."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from mailcast.compose.addresses import needs_smtputf8
from mailcast.config import RelaySettings
from mailcast.send import smtp_client
from mailcast.send.metrics import RELAY_LATENCY
from mailcast.send.smtp_client import (
    EnvelopeCommands,
    Refused,
    SmtpClient,
    SmtpError,
    Unsupported,
)

_QUEUE_ID = re.compile(r"(?:queued as|id=)\s*([A-Za-z0-9._-]+)", re.IGNORECASE)
_QUIT_SECONDS = 5.0


class ReplyKind(Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"  # the relay answered the hand-off with a 4xx or 5xx
    UNREACHABLE = "unreachable"  # no answer: the message may or may not have been taken
    FATAL = "fatal"  # retrying cannot help (authentication or TLS refused)
    # Not offered: the address needs SMTPUTF8 and the relay lacks it. Nothing was sent, and
    # the address is not at fault.
    UNSENDABLE = "unsendable"


# A command refused because the relay wants a login first (RFC 4954): a fault of the relay
# settings, not of the recipient, and one that retrying will not cure.
_AUTHENTICATION_REQUIRED = 530


class Stage(Enum):
    """The step of the session a reply answered: it tells whom a refusal is about."""

    SESSION = "session"  # connect, greeting, TLS, login: the relay
    MAIL = "mail"  # MAIL FROM: the sender, for every recipient alike
    RCPT = "rcpt"
    DATA = "data"


@dataclass(frozen=True, slots=True)
class RelayReply:
    kind: ReplyKind
    code: int
    text: str
    stage: Stage = Stage.SESSION

    @property
    def queue_id(self) -> str | None:
        match = _QUEUE_ID.search(self.text)
        return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str
    recipient: str
    data: bytes
    envid: str | None = None


class _SessionFailed(Exception):
    """The session with the relay could not be opened; the reply says whether for good."""

    def __init__(self, reply: RelayReply) -> None:
        super().__init__(reply.text)
        self.reply = reply


_NO_SMTPUTF8 = (
    "the address is not ASCII before the @ and the relay does not offer SMTPUTF8 (RFC 6531): "
    "nothing was sent"
)


# Printable ASCII but '+', '=' and '\\': the same in xtext and in utf-8-addr-xtext.
_XTEXT_AS_IS = re.compile(r"[!-*,-<>-\[\]-~]*")


def _xtext(value: str) -> str:
    """RFC 3461 xtext: '+', '=' and non-printables as +HH."""
    if _XTEXT_AS_IS.fullmatch(value):
        return value
    return "".join(c if 33 <= ord(c) <= 126 and c not in "+=" else f"+{ord(c):02X}" for c in value)


def _orcpt(recipient: str) -> str:
    """ORCPT: rfc822 in xtext, or a UTF-8 address in RFC 6533 utf-8-addr-xtext (ASCII)."""
    if recipient.isascii():
        return f"rfc822;{_xtext(recipient)}"
    return "utf-8;" + "".join(
        c if 33 <= ord(c) <= 126 and c not in "+=\\" else f"\\x{{{ord(c):X}}}" for c in recipient
    )


def _needs_smtputf8(envelope: Envelope) -> bool:
    return needs_smtputf8(envelope.sender) or needs_smtputf8(envelope.recipient)


class RelayConnection:
    """One persistent SMTP session with the relay; reconnects when the relay drops it."""

    def __init__(self, settings: RelaySettings) -> None:
        self.settings = settings
        self._client: SmtpClient | None = None
        self._tls: ssl.SSLContext | None = None

    async def _connected(self) -> SmtpClient:
        if self._client is not None and self._client.is_open:
            return self._client
        if self._tls is None:
            self._tls = self.settings.tls_context()
        client = SmtpClient(self.settings.timeout)
        try:
            await _open_session(client, self.settings, self._tls)
        except _SessionFailed:
            client.abort()
            raise
        except (Refused, SmtpError, OSError, TimeoutError) as exc:
            client.abort()
            raise _SessionFailed(_unreachable(exc)) from exc
        self._client = client
        return client

    async def send(
        self, envelope: Envelope, following: Callable[[], Envelope | None] | None = None
    ) -> RelayReply:
        """Hand one message over; the whole SMTP transaction feeds the latency histogram.

        `following` is asked, when this message's data goes, for the message this connection
        sends next if it is ready: its envelope then goes in the same write.
        """
        with RELAY_LATENCY.time():
            return await self._transaction(envelope, following)

    async def _transaction(
        self, envelope: Envelope, following: Callable[[], Envelope | None] | None
    ) -> RelayReply:
        try:
            client = await self._connected()
            commands = self._commands(client, envelope)
            if client.announced not in (None, commands):
                # Another message's envelope went ahead (it was given back): its DATA may be
                # open, and only a new session is sure to leave it undelivered.
                client.abort()
                client = await self._connected()
                commands = self._commands(client, envelope)
            if commands is None:
                return RelayReply(ReplyKind.UNSENDABLE, 0, _NO_SMTPUTF8)
            reply = await client.send(
                commands.sender,
                commands.recipient,
                envelope.data,
                commands.mail_options,
                commands.rcpt_options,
                following=self._next_commands(client, following),
            )
            return RelayReply(ReplyKind.ACCEPTED, reply.code, reply.text)
        except _SessionFailed as exc:
            return exc.reply
        except Refused as exc:
            return await self._refused(exc)
        except (SmtpError, OSError, TimeoutError) as exc:
            await self.close()
            return _unreachable(exc)

    async def _refused(self, exc: Refused) -> RelayReply:
        code, text = exc.reply.code, exc.reply.text
        if code == _AUTHENTICATION_REQUIRED:
            await self.close()
            return _fatal(code, f"authentication required: {text}")
        stage = _STAGES.get(exc.command)
        if stage is None or not 400 <= code < 600:  # the session, not this message
            await self.close()
            return RelayReply(ReplyKind.UNREACHABLE, code, text)
        return RelayReply(ReplyKind.REFUSED, code, text, stage)

    def _commands(self, client: SmtpClient, envelope: Envelope) -> EnvelopeCommands | None:
        """MAIL and RCPT for the envelope in this session; None: it needs SMTPUTF8, not offered."""
        utf8 = _needs_smtputf8(envelope)
        if utf8 and not client.supports("SMTPUTF8"):
            return None
        mail: list[str] = []
        rcpt: list[str] = []
        if self.settings.request_dsn and envelope.envid and client.supports("DSN"):
            mail = ["RET=HDRS", f"ENVID={_xtext(envelope.envid)}"]
            rcpt = ["NOTIFY=SUCCESS,FAILURE,DELAY", f"ORCPT={_orcpt(envelope.recipient)}"]
        if utf8:
            mail.append("SMTPUTF8")
        return EnvelopeCommands(envelope.sender, envelope.recipient, mail, rcpt)

    def _next_commands(
        self, client: SmtpClient, following: Callable[[], Envelope | None] | None
    ) -> Callable[[], EnvelopeCommands | None] | None:
        if following is None:
            return None

        def commands() -> EnvelopeCommands | None:
            envelope = following()
            return None if envelope is None else self._commands(client, envelope)

        return commands

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_open:
            try:
                # Bounded: a connection left mid-command by a cancelled send may never answer,
                # and stopping a worker must not wait for it.
                await asyncio.wait_for(client.quit(), _QUIT_SECONDS)
            except (SmtpError, OSError, TimeoutError):
                client.abort()


_STAGES = {
    smtp_client.MAIL: Stage.MAIL,
    smtp_client.RCPT: Stage.RCPT,
    smtp_client.DATA: Stage.DATA,
    smtp_client.END_OF_DATA: Stage.DATA,
}


async def _open_session(
    client: SmtpClient, settings: RelaySettings, tls: ssl.SSLContext | None
) -> None:
    """Connect, negotiate TLS, log in; _SessionFailed (FATAL) when retrying cannot help."""
    implicit = tls if settings.tls == "implicit" else None
    await _step(
        client.connect(settings.host, settings.port, implicit), "TLS could not be negotiated"
    )
    if settings.tls == "starttls":
        assert tls is not None
        await _step(client.starttls(tls, settings.host), "TLS could not be negotiated")
    if settings.username is not None:
        login = client.login(settings.username, settings.password or "")
        await _step(login, "authentication refused")


async def _step(command: Awaitable[object], failure: str) -> None:
    """A session step the relay refuses for good (5xx, not offered, TLS handshake) is FATAL.

    A 4xx (454: try again later) and a lost connection go on up, to be retried.
    """
    try:
        await command
    except Refused as exc:
        if exc.reply.code < 500 or exc.command in ("greeting", "EHLO", "HELO"):
            raise
        reply = exc.reply
        raise _SessionFailed(_fatal(reply.code, f"{failure}: {reply.code} {reply.text}")) from exc
    except (Unsupported, ssl.SSLError) as exc:
        raise _SessionFailed(_fatal(0, f"{failure}: {exc}")) from exc


def _unreachable(exc: Exception) -> RelayReply:
    if isinstance(exc, Refused):
        return RelayReply(ReplyKind.UNREACHABLE, exc.reply.code, exc.reply.text)
    return RelayReply(ReplyKind.UNREACHABLE, 0, f"{type(exc).__name__}: {exc}")


def _fatal(code: int, text: str) -> RelayReply:
    return RelayReply(ReplyKind.FATAL, code, text)
