"""Real feedback emails about messages a test sent, and SMTP to hand them to the receiver.

DSNs are laid out as Postfix writes them (RFC 6522 multipart/report, RFC 3464 fields, the
returned headers); complaints as RFC 5965 ARF; auto-replies as RFC 3834 vacation notices.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from email.utils import formatdate

import aiosmtplib
from sqlalchemy import select

from mailcast.context import Context
from mailcast.feedback import inbound
from mailcast.feedback.receiver import BounceReceiver
from mailcast.store.tables import messages

_serial = itertools.count(1)


@dataclass(frozen=True)
class Sent:
    """What mailcast sent to one recipient: the keys a bounce about it carries back."""

    id: int
    address: str
    return_path: str  # the signed VERP address: the bounce's envelope recipient
    message_id: str  # the signed Message-ID header

    @property
    def envid(self) -> str:
        return self.return_path.split("@", 1)[0]


def sent(ctx: Context, delivery_id: int) -> dict[str, Sent]:
    """The messages of a delivery that were handed over, by address."""
    query = select(messages.c.id, messages.c.address, messages.c.message_id_header).where(
        messages.c.delivery_id == delivery_id, messages.c.message_id_header.is_not(None)
    )
    with ctx.db.read() as conn:
        rows = list(conn.execute(query))
    return {
        row.address: Sent(
            row.id, row.address, ctx.signer.return_path(row.id), row.message_id_header
        )
        for row in rows
    }


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def _returned(msg: Sent) -> str:
    return (
        f"Return-Path: <{msg.return_path}>\n"
        f"Message-ID: {msg.message_id}\n"
        "From: News <news@example.com>\n"
        f"To: {msg.address}\n"
        "Subject: Hello\n"
    )


def dsn(
    msg: Sent,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "",
    to: str | None = None,
    envid: bool = True,
    with_message_id: bool = True,
    recipient: str | None = None,
) -> bytes:
    """A Postfix DSN about `msg`: failed, delayed or delivered (`action`), with `status`."""
    address = recipient or msg.address
    diagnostic = (
        diagnostic
        or {
            "failed": f"550 {status} <{address}>: Recipient address rejected: User unknown",
            "delayed": f"452 {status} <{address}>: Mailbox full, try again later",
            "delivered": f"250 {status} Ok: queued as 7F3A2",
            "relayed": f"250 {status} Ok: queued as 7F3A2",
        }[action]
    )
    notice = {
        "failed": "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.",
        "delayed": "Your message could not be delivered for more than 4 hour(s).\n"
        "It will be retried until it is 5 day(s) old.",
        "delivered": "Your message was successfully delivered to the destination(s)\nlisted below.",
        "relayed": "Your message was successfully delivered to the destination(s)\nlisted below.",
    }[action]
    subject = {
        "failed": "Undelivered Mail Returned to Sender",
        "delayed": "Delayed Mail (still being retried)",
        "delivered": "Successful Mail Delivery Report",
        "relayed": "Successful Mail Delivery Report",
    }[action]
    returned = _returned(msg)
    if not with_message_id:
        returned = "".join(h for h in returned.splitlines(True) if not h.startswith("Message-ID"))
    serial = next(_serial)
    text = f"""Return-Path: <>
Received: by mx.relay.example (Postfix) id 4Zx{serial:05d}; {formatdate()}
Date: {formatdate()}
From: MAILER-DAEMON@mx.relay.example (Mail Delivery System)
Subject: {subject}
To: {to or msg.return_path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4Zx{serial:05d}.1767603600/mx.relay.example"
Message-Id: <20260105090000.4Zx{serial:05d}@mx.relay.example>

This is a MIME-encapsulated message.

--4Zx{serial:05d}.1767603600/mx.relay.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.relay.example.

{notice}

                   The mail system

<{address}>: host mx.example.org[192.0.2.10] said: {diagnostic}
    (in reply to RCPT TO command)

--4Zx{serial:05d}.1767603600/mx.relay.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.relay.example
X-Postfix-Queue-ID: 4Zx{serial:05d}
X-Postfix-Sender: rfc822; {msg.return_path}
{f"Original-Envelope-Id: {msg.envid}" if envid else "X-Comment: no envelope id"}
Arrival-Date: {formatdate()}

Final-Recipient: rfc822; {address}
Original-Recipient: rfc822;{address}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; {diagnostic}

--4Zx{serial:05d}.1767603600/mx.relay.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{returned}
--4Zx{serial:05d}.1767603600/mx.relay.example--
"""
    return _crlf(text)


def arf(msg: Sent, *, to: str = "feedback@bounces.mailcast.localhost") -> bytes:
    """An RFC 5965 abuse report about `msg`, as a mailbox provider's feedback loop sends it."""
    serial = next(_serial)
    text = f"""From: Feedback Loop <fbl@isp.example>
To: {to}
Subject: FW: Hello
Date: {formatdate()}
Message-ID: <fbl-{serial}@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARF{serial}"

--ARF{serial}
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.1.

--ARF{serial}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ISP-FBL/1.0
Version: 1
Original-Mail-From: <{msg.return_path}>
Original-Rcpt-To: <{msg.address}>
Arrival-Date: {formatdate()}
Source-IP: 192.0.2.1

--ARF{serial}
Content-Type: text/rfc822-headers

{_returned(msg)}
--ARF{serial}--
"""
    return _crlf(text)


def vacation(msg: Sent) -> bytes:
    """An RFC 3834 out-of-office reply to `msg`, sent to its return path."""
    serial = next(_serial)
    text = f"""From: {msg.address}
To: {msg.return_path}
Subject: Out of office: Hello
Date: {formatdate()}
Message-ID: <ooo-{serial}@example.org>
In-Reply-To: {msg.message_id}
Auto-Submitted: auto-replied
Precedence: bulk
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

I am out of the office until Monday with limited access to email.
"""
    return _crlf(text)


def hand_over(
    to: BounceReceiver | int, data: bytes, recipients: list[str], sender: str = ""
) -> str:
    """Send one message to the receiver on loopback over real SMTP; the 250 reply's text.

    To a receiver of this process, it returns once the receiver's consumer has applied it.
    """
    port = to if isinstance(to, int) else to.port

    async def send() -> str:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30) as smtp:
            _, text = await smtp.sendmail(sender, recipients, data)
            return text

    reply = asyncio.run(send())
    if not isinstance(to, int):
        to.wait_applied()
    return reply


def applied(ctx: Context, timeout: float = 30.0) -> None:
    """Until the receiver's consumer has applied every report kept so far."""
    deadline = time.monotonic() + timeout
    while inbound.unread(ctx):
        assert time.monotonic() < deadline, f"reports still unread after {timeout} s"
        time.sleep(0.02)
