"""Whether the relay takes mail again: a session up to RCPT, never DATA, so nothing is sent."""

from __future__ import annotations

from dataclasses import dataclass

import aiosmtplib

from mailcast.config import RelaySettings


@dataclass(frozen=True, slots=True)
class ProbeEnvelope:
    """The sender and a recipient the relay refused: the probe asks the relay for both again."""

    sender: str
    recipient: str


async def relay_answers(settings: RelaySettings, envelope: ProbeEnvelope | None) -> bool:
    """Connect, TLS, login and EHLO; with an envelope, MAIL and RCPT too, then RSET."""
    smtp = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        timeout=settings.timeout,
        use_tls=settings.tls == "implicit",
        start_tls=False,
        tls_context=settings.tls_context(),
    )
    try:
        await smtp.connect()
        if settings.tls == "starttls":
            await smtp.starttls()
        if settings.username is not None:
            await smtp.login(settings.username, settings.password or "")
        if smtp.last_ehlo_response is None:
            await smtp.ehlo()
        if envelope is not None:
            await smtp.mail(envelope.sender)
            await smtp.rcpt(envelope.recipient)
            await smtp.rset()
        return True
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        return False
    finally:
        if smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                smtp.close()
