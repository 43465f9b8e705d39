"""SMTP connections to the relay, kept open and reused, one per sending task."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import Enum

import aiosmtplib

from mailcast.compose.addresses import needs_smtputf8
from mailcast.config import RelaySettings
from mailcast.send.metrics import RELAY_LATENCY

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


@dataclass(frozen=True, slots=True)
class RelayReply:
    kind: ReplyKind
    code: int
    text: str

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


def _xtext(value: str) -> str:
    """RFC 3461 xtext: '+', '=' and non-printables as +HH."""
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
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        s = self.settings
        # TLS and login are separate steps so that each failure is told apart.
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.tls == "implicit",
            start_tls=False,
            tls_context=ssl.create_default_context() if s.tls != "none" else None,
        )
        try:
            await _open_session(smtp, s)
        except _SessionFailed:
            smtp.close()
            raise
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            smtp.close()
            code = getattr(exc, "code", 0)
            reply = RelayReply(ReplyKind.UNREACHABLE, code, f"{type(exc).__name__}: {exc}")
            raise _SessionFailed(reply) from exc
        self._smtp = smtp
        return smtp

    async def send(self, envelope: Envelope) -> RelayReply:
        """Hand one message over; the whole SMTP transaction feeds the latency histogram."""
        with RELAY_LATENCY.time():
            return await self._transaction(envelope)

    async def _transaction(self, envelope: Envelope) -> RelayReply:
        try:
            smtp = await self._connected()
            utf8 = _needs_smtputf8(envelope)
            if utf8 and not smtp.supports_extension("smtputf8"):
                return RelayReply(ReplyKind.UNSENDABLE, 0, _NO_SMTPUTF8)
            mail_options, rcpt_options = self._dsn_options(smtp, envelope)
            if utf8:
                mail_options.append("SMTPUTF8")
            _, text = await smtp.sendmail(
                envelope.sender,
                [envelope.recipient],
                envelope.data,
                mail_options=mail_options,
                rcpt_options=rcpt_options,
            )
            return RelayReply(ReplyKind.ACCEPTED, 250, text)
        except _SessionFailed as exc:
            return exc.reply
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return RelayReply(ReplyKind.REFUSED, refused.code, refused.message)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == _AUTHENTICATION_REQUIRED:
                await self.close()
                return _fatal(exc.code, f"authentication required: {exc.message}")
            if exc.code in (421, -1) or not 400 <= exc.code < 600:
                await self.close()
                return RelayReply(ReplyKind.UNREACHABLE, exc.code, exc.message)
            return RelayReply(ReplyKind.REFUSED, exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close()
            return RelayReply(ReplyKind.UNREACHABLE, 0, f"{type(exc).__name__}: {exc}")

    def _dsn_options(
        self, smtp: aiosmtplib.SMTP, envelope: Envelope
    ) -> tuple[list[str], list[str]]:
        if not (self.settings.request_dsn and envelope.envid and smtp.supports_extension("dsn")):
            return [], []
        mail = ["RET=HDRS", f"ENVID={_xtext(envelope.envid)}"]
        rcpt = ["NOTIFY=SUCCESS,FAILURE,DELAY", f"ORCPT={_orcpt(envelope.recipient)}"]
        return mail, rcpt

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                # Bounded: a connection left mid-command by a cancelled send may never answer,
                # and stopping a worker must not wait for it.
                await asyncio.wait_for(smtp.quit(), _QUIT_SECONDS)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                smtp.close()


async def _open_session(smtp: aiosmtplib.SMTP, settings: RelaySettings) -> None:
    """Connect, negotiate TLS, log in; _SessionFailed (FATAL) when retrying cannot help."""
    try:
        await smtp.connect()
    except aiosmtplib.SMTPConnectError as exc:
        if isinstance(exc.__cause__, ssl.SSLError):  # the implicit TLS handshake failed
            failure = f"TLS could not be negotiated: {exc.__cause__}"
            raise _SessionFailed(_fatal(0, failure)) from exc
        raise
    if settings.tls == "starttls":
        await _step(smtp.starttls(), "TLS could not be negotiated")
    if settings.username is not None:
        login = smtp.login(settings.username, settings.password or "")
        await _step(login, "authentication refused")
    if smtp.last_ehlo_response is None:
        await smtp.ehlo()  # the DSN options depend on what the relay advertises


async def _step(command: Awaitable[object], failure: str) -> None:
    """A session step the relay refuses for good (5xx, not offered, TLS handshake) is FATAL.

    A 4xx (454: try again later) and a lost connection go on up, to be retried.
    """
    try:
        await command
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        raise
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code < 500:
            raise
        raise _SessionFailed(_fatal(exc.code, f"{failure}: {exc.code} {exc.message}")) from exc
    except (aiosmtplib.SMTPException, ssl.SSLError) as exc:
        raise _SessionFailed(_fatal(0, f"{failure}: {exc}")) from exc


def _fatal(code: int, text: str) -> RelayReply:
    return RelayReply(ReplyKind.FATAL, code, text)
