"""Test notices in the layouts of MTAs no one has named (sisimai's X1-X6) and of Sendmail V5.

Our own fixtures, written from the layouts sisimai's Lhost modules describe (their start
lines, recipient lines and boundaries); addresses, hosts and replies are ours. Each builder
takes the recipients with the text the MTA writes about each.
"""

from __future__ import annotations

from notices import SENDER, returned


def _mail(headers: str, body: str) -> bytes:
    return (headers + "\n" + body).replace("\n", "\r\n").encode()


def x1(
    rows: list[tuple[str, str]],
    *,
    subject: str = "Returned Mail: User unknown",
    sender: str = '"Mail Delivery System" <MAILER-DAEMON@mx.dest.example>',
) -> bytes:
    """ "address [reason]" per recipient below "---The following addresses had delivery errors---".

    A reason holding a newline continues on indented lines below its recipient.
    """
    listed = "\n".join(_x1_line(address, reason) for address, reason in rows)
    body = (
        "The original message was received at Thu, 29 Apr 2010 23:34:45 +0900 (JST)\n"
        f"from {SENDER}\n\n---The following addresses had delivery errors---\n\n"
        f"{listed}\n\n" + returned(rows[0][0])
    )
    return _mail(f"From: {sender}\nTo: {SENDER}\nSubject: {subject}\n", body)


def _x1_line(address: str, reason: str) -> str:
    first, _, below = reason.partition("\n")
    return f"{address} [{first}]" + (f"\n{below}" if below else "")


def x2(blocks: list[tuple[str, str]], *, subject: str = "Delivery failure") -> bytes:
    """ "<address>:" then the reason's lines, up to "--- Original message follows."."""
    listed = "\n\n".join(f"<{address}>:\n{text}" for address, text in blocks)
    body = (
        "Message from mx.dest.example.\n"
        "Unable to deliver message to the following address(es).\n\n"
        f"{listed}\n\n--- Original message follows.\n\n" + returned(blocks[0][0])
    )
    return _mail(f"From: MAILER-DAEMON@mx.dest.example\nTo: {SENDER}\nSubject: {subject}\n", body)


def x3(addresses: list[str], details: list[str], *, heading: str = "failed permanently") -> bytes:
    """ "  * address" per recipient, then the "Technical details:" section."""
    rule = "=" * 76
    listed = "\n".join(f"  * {address}" for address in addresses)
    text = (
        f"{rule}\n      This is an automatically generated Delivery Status Notification.      \n\n"
        f"Delivery to the following recipients {heading}:\n\n{listed}\n\n\n{rule}\n"
        f"{' ' * 29}Technical details:\n\n" + "\n\n".join(details) + f"\n\n\n{rule}\n"
    )
    body = (
        "This is a multi-part message in MIME format.\n\n--X3\n"
        f"Content-Type: text/plain; charset=UTF-8\n\n{text}\n--X3\n"
        "Content-Type: message/rfc822\n\n" + returned(addresses[0]) + "\n--X3--\n"
    )
    return _mail(
        "From: Mail Delivery System <Mail.Delivery.System@mx.dest.example>\n"
        f"To: {SENDER}\nSubject: Delivery status notification\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="X3"\n',
        body,
    )


def x5(rows: list[tuple[str, str, str]]) -> bytes:
    """A Sendmail DSN (address, status, reply per recipient) forwarded inside message/rfc822."""
    fields = "\n".join(
        f"Final-Recipient: RFC822; {address}\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: SMTP; {reply}\n"
        for address, status, reply in rows
    )
    inner = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.dest.example>\n"
        f"To: {SENDER}\nSubject: Returned mail: see transcript for details\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="IN"\n\n'
        "--IN\nContent-Type: text/plain\n\n"
        "The original message was received at Thu, 29 Apr 2010 23:34:45 +0900\n\n"
        "--IN\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; relay.dest.example\n\n{fields}\n"
        "--IN\nContent-Type: text/rfc822-headers\n\n" + returned(rows[0][0]) + "\n--IN--\n"
    )
    body = (
        "--OUT\nContent-Type: text/plain; charset=us-ascii\n\nSee the attached notice.\n\n"
        f"--OUT\nContent-Type: message/rfc822\n\n{inner}\n--OUT--\n"
    )
    encoded = "=?iso-2022-jp?B?TWFpbCBEZWxpdmVyeSBTdWJzeXN0ZW0=?="  # Mail Delivery Subsystem
    return _mail(
        f'From: "{encoded}" <MAILER-DAEMON@gw.dest.example>\nTo: NotificationRecipients\n'
        f"Subject: {encoded}\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="OUT"\n',
        body,
    )


def x6(errors: list[str]) -> bytes:
    """ "We had trouble delivering your message." and one error line per recipient."""
    listed = "\n\n".join(errors)
    text = (
        "We had trouble delivering your message. Full details follow:\n\n"
        "Subject: 'December news'\nDate: 'Thu, 29 Apr 2012 23:34:45 +0000'\n\n"
        f"{len(errors)} error(s):\n\n{listed}\n\n"
        "The attachment contains the original mail headers. Please verify recipient(s) mail "
        "addresses and try resending this message.\n"
    )
    body = (
        f"--X6\nContent-Type: text/plain; charset=us-ascii\n\n{text}\n--X6\n"
        'Content-Type: text/plain; name="mailheaders.txt"\n'
        'Content-Disposition: attachment; filename="mailheaders.txt"\n\n'
        + returned("x@dest.example")
        + "\n--X6--\n"
    )
    return _mail(
        f"From: mailer-daemon\nTo: {SENDER}\nSubject: There was an error sending your mail\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="X6"\n',
        body,
    )


def v5(transcript: str, *, to: str = "alice@dest.example", collected: bool = True) -> bytes:
    """Sendmail V5: the transcript alone, then the unsent message (or a note that none was)."""
    tail = (
        "   ----- Unsent message follows -----\n" + returned(to)
        if collected
        else "  ----- No message was collected -----\n"
    )
    body = f"   ----- Transcript of session follows -----\n{transcript}\n\n{tail}"
    return _mail(
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.sender.example>\n"
        f"To: {SENDER}\nSubject: Returned mail: User unknown\n"
        "Date: Thu, 29 Apr 1999 23:34:45 +0900\n",
        body,
    )
