"""SMTP connections to the relay, kept open and reused, one per sending task."""

from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass
from enum import Enum

import aiosmtplib

from mailcast.config import RelaySettings

_QUEUE_ID = re.compile(r"(?:queued as|id=)\s*([A-Za-z0-9._-]+)", re.IGNORECASE)
_QUIT_SECONDS = 5.0


class ReplyKind(Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"  # the relay answered the hand-off with a 4xx or 5xx
    UNREACHABLE = "unreachable"  # no answer: the message may or may not have been taken
    FATAL = "fatal"  # retrying cannot help (authentication or TLS refused)


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


def _xtext(value: str) -> str:
    """RFC 3461 xtext: '+', '=' and non-printables as +HH."""
    return "".join(c if 33 <= ord(c) <= 126 and c not in "+=" else f"+{ord(c):02X}" for c in value)


class RelayConnection:
    """One persistent SMTP session with the relay; reconnects when the relay drops it."""

    def __init__(self, settings: RelaySettings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.tls == "implicit",
            start_tls=s.tls == "starttls",
            tls_context=ssl.create_default_context() if s.tls != "none" else None,
            username=s.username,
            password=s.password,
        )
        await smtp.connect()
        if smtp.last_ehlo_response is None:
            await smtp.ehlo()  # the DSN options depend on what the relay advertises
        self._smtp = smtp
        return smtp

    async def send(self, envelope: Envelope) -> RelayReply:
        try:
            smtp = await self._connected()
            mail_options, rcpt_options = self._dsn_options(smtp, envelope)
            _, text = await smtp.sendmail(
                envelope.sender,
                [envelope.recipient],
                envelope.data,
                mail_options=mail_options,
                rcpt_options=rcpt_options,
            )
            return RelayReply(ReplyKind.ACCEPTED, 250, text)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return RelayReply(ReplyKind.REFUSED, refused.code, refused.message)
        except aiosmtplib.SMTPAuthenticationError as exc:
            await self.close()
            return RelayReply(ReplyKind.FATAL, exc.code, f"authentication refused: {exc.message}")
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code in (421, -1) or not 400 <= exc.code < 600:
                await self.close()
                return RelayReply(ReplyKind.UNREACHABLE, exc.code, exc.message)
            return RelayReply(ReplyKind.REFUSED, exc.code, exc.message)
        except ssl.SSLError as exc:
            await self.close()
            return RelayReply(ReplyKind.FATAL, 0, f"TLS could not be negotiated: {exc}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close()
            return RelayReply(ReplyKind.UNREACHABLE, 0, f"{type(exc).__name__}: {exc}")

    def _dsn_options(
        self, smtp: aiosmtplib.SMTP, envelope: Envelope
    ) -> tuple[list[str], list[str]]:
        if not (self.settings.request_dsn and envelope.envid and smtp.supports_extension("dsn")):
            return [], []
        mail = ["RET=HDRS", f"ENVID={_xtext(envelope.envid)}"]
        rcpt = ["NOTIFY=SUCCESS,FAILURE,DELAY", f"ORCPT=rfc822;{_xtext(envelope.recipient)}"]
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
