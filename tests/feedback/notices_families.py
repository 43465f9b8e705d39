"""Test notices of smaller families in their varying layouts: SES mailed as a DSN, James, m-FILTER.

Our own fixtures, written from each family's documented templates: Amazon SES's two start
lines with status fields in their own part or pasted into the text, Apache James's RCPT TO
list with its continuation lines, m-FILTER's list of addresses sharing one server message.
"""

from __future__ import annotations

from notices import SENDER, Failure, returned

SES_NEW = "An error occurred while trying to deliver the mail to the following recipients:"


def _crlf(text: str, charset: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(charset)


def ses_fields(failures: list[Failure], *, wrapped: str = "", blank: bool = True) -> str:
    """SES's status blocks: Action before Final-Recipient, as SES writes them."""
    blocks = ["Reporting-MTA: dsn; a1-2.smtp-out.amazonses.com\n"]
    for f in failures:
        diagnostic = f"{wrapped} {f.reply[:3]}-'{f.reply[4:]}'" if wrapped else f.reply
        status = "5.0.0 (permanent failure)" if wrapped else f.status
        blocks.append(
            f"Action: failed\nFinal-Recipient: rfc822; {f.address}\n"
            f"Diagnostic-Code: smtp; {diagnostic}\nStatus: {status}\n"
        )
    return ("\n" if blank else "").join(blocks)


def ses_mail(failures: list[Failure], *, layout: str = "part", wrapped: str = "") -> bytes:
    """An SES bounce mailed as a notice.

    layout "part": the fields in a message/delivery-status part; "pasted": in the text part
    (a relay flattened the report), blocks not separated; "plain": one text/plain body.
    `wrapped` puts each reply inside SES's own words ("5.1.0 - Unknown address error").
    """
    intro = (
        f"The following message to <{failures[0].address}> was undeliverable.\n"
        f"The reason for the problem:\n{wrapped} {failures[0].reply[:3]}-'{failures[0].reply[4:]}'"
        if wrapped
        else SES_NEW + "\n" + "\n".join(f.address for f in failures)
    )
    headers = (
        "From: MAILER-DAEMON@email-bounces.amazonses.com\n"
        f"To: {SENDER}\nSubject: Delivery Status Notification (Failure)\n"
        "X-SES-Outgoing: 2026.12.04-192.0.2.64\nMIME-Version: 1.0\n"
    )
    if layout == "plain":
        text = intro + "\n\n" + ses_fields(failures, wrapped=wrapped, blank=False)
        return _crlf(headers + "Content-Type: text/plain; charset=us-ascii\n\n" + text)
    parts = [f"Content-Type: text/plain; charset=us-ascii\n\n{intro}\n"]
    if layout == "pasted":
        parts[0] += "\n" + ses_fields(failures, wrapped=wrapped, blank=False)
    else:
        parts.append(
            "Content-Type: message/delivery-status\n\n" + ses_fields(failures, wrapped=wrapped)
        )
    parts.append(f"Content-Type: message/rfc822\n\n{returned(failures[0].address)}\nHello\n")
    kind = "report; report-type=delivery-status" if layout == "part" else "mixed"
    body = "".join(f"--S1\n{p}\n" for p in parts) + "--S1--\n"
    return _crlf(headers + f'Content-Type: multipart/{kind}; boundary="S1"\n\n' + body)


def james_listed(failures: list[Failure], *, indent: str = "  ") -> bytes:
    """James's Bounce mailet: one error for all, the recipients as RCPT TO and its follow-ups."""
    first, *rest = failures
    listed = f"{indent}RCPT TO: {first.address}\n" + "".join(
        f"{indent}         {f.address}\n" for f in rest
    )
    body = (
        "Hi. This is the James mail server at mx.mailcast.example.\n\n"
        f"Error message below:\n{first.reply}\n\nMessage details:\n"
        f"{indent}Subject: December news\n{indent}MAIL FROM: {SENDER}\n{listed}"
        f"{indent}From: News <news@mailcast.example>\n{indent}Size (in bytes): 1024\n"
    )
    headers = (
        f"From: postmaster@mx.mailcast.example\nTo: {SENDER}\nSubject: [BOUNCE]\n"
        "Message-ID: <12345.JavaMail.root@mx.mailcast.example>\n"
    )
    return _crlf(headers + "\n" + body)


def mfilter_shared(addresses: list[str], reply: str, step: str, *, jis: bool = True) -> bytes:
    """m-FILTER listing several addresses above one server message and one command."""
    listed = "\n".join(f"<{a}>" if n % 2 else a for n, a in enumerate(addresses))
    body = (
        "このメールは「m-FILTER」が自動的に生成して送信しています。\n"
        f"以下のメールアドレスへの送信に失敗しました。\n{listed}\n\n\n"
        f"-------server message\n{reply}\n\n-------SMTP command\n{step}\n\n"
        "-------original message\n" + returned(addresses[0])
    )
    charset = "iso-2022-jp" if jis else "utf-8"
    headers = (
        f"From: MAILER-DAEMON@mf.mailcast.example\nTo: {SENDER}\nSubject: failure notice\n"
        f"X-Mailer: m-FILTER\nMIME-Version: 1.0\nContent-Type: text/plain; charset={charset}\n"
    )
    return _crlf(headers + "\n" + body, charset)
