"""Test notices for the parity check against sisimai's readers: each family's own messages.

Our own notices, in each family's layout as its source and documentation describe it: Exim's
address list (with and without its delivery-status part, delayed and frozen), Postfix's
bounce(5) blocks and its local and connection messages, Sendmail's transcript, SES mailed
and as JSON, James, m-FILTER, fml and ARF reports. Every text is made up; each builder takes
the per-recipient wording so that a test can try one MTA message at a time.
"""

from __future__ import annotations

import json

from notices import SENDER, returned

Block = tuple[str, str]  # address, the text the family writes about it


def _mail(headers: str, body: str, charset: str = "utf-8") -> bytes:
    return (headers + "\n" + body).replace("\n", "\r\n").encode(charset)


def _multipart(headers: str, parts: list[str], kind: str = "report") -> bytes:
    content = f"multipart/{kind}" + ("; report-type=delivery-status" if kind == "report" else "")
    body = "".join(f"--P9\n{p}\n" for p in parts) + "--P9--\n"
    return _mail(headers + f'MIME-Version: 1.0\nContent-Type: {content}; boundary="P9"\n', body)


def _status(fields: list[tuple[str, str, str]], mta: str, action: str = "failed") -> str:
    """Status blocks: (address, status, diagnostic); no diagnostic field when it is empty."""
    blocks = [f"Reporting-MTA: dns; {mta}\n"]
    for address, status, diagnostic in fields:
        block = f"Action: {action}\nFinal-Recipient: rfc822;{address}\nStatus: {status}\n"
        blocks.append(block + (f"Diagnostic-Code: {diagnostic}\n" if diagnostic else ""))
    return "\n".join(blocks)


# Exim ---------------------------------------------------------------------------------------


def exim(
    blocks: list[Block],
    *,
    status: list[tuple[str, str, str]] | None = None,
    subject: str = "Mail delivery failed: returning message to sender",
    delayed: bool = False,
    failed_header: bool = True,
) -> bytes:
    """Exim's notice: each address indented two spaces, its explanation four.

    `status` adds the delivery-status part Exim 4.90 and later send; `delayed` writes the
    warning of a message still queued ("Delay reason:").
    """
    listed = "\n\n".join(f"  {address}\n" + _indent(text) for address, text in blocks)
    if delayed:
        intro = (
            "This message was created automatically by mail delivery software.\n"
            "A message that you sent has not yet been delivered to one or more of its\n"
            "recipients after more than 24 hours on the queue on mx.mailcast.example.\n\n"
            "The addresses to which the message has not yet been delivered are:\n\n"
        )
        outro = (
            "\n\nNo action is required on your part. Delivery attempts will continue for\n"
            "some time, and this warning may be repeated at intervals if the message\n"
            "remains undelivered. Eventually the mail delivery software will give up,\n"
            "and when that happens, the message will be returned to you.\n"
        )
    else:
        intro = (
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
        )
        outro = "\n"
    notice = intro + listed + outro
    to = ", ".join(a for a, _ in blocks if "@" in a)
    headers = (
        "From: Mail Delivery System <Mailer-Daemon@mx.mailcast.example>\n"
        f"To: {SENDER}\nSubject: {subject}\n"
        "Message-Id: <E1kQzXy-0004Rt-Aa@mx.mailcast.example>\n"
    )
    if failed_header and not delayed:
        headers += f"X-Failed-Recipients: {to}\n"
    copy = "------ This is a copy of the message, including all the headers. ------\n\n"
    if status is None:
        return _mail(headers, notice + "\n" + copy + returned(to))
    parts = [
        f"Content-type: text/plain; charset=us-ascii\n\n{notice}",
        "Content-type: message/delivery-status\n\n" + _status(status, "mx.mailcast.example"),
        f"Content-type: message/rfc822\n\n{returned(to)}\nHello\n",
    ]
    return _multipart(headers, parts)


def exim_frozen(addresses: list[str], why: str) -> bytes:
    """Exim telling of a frozen message: no address list, X-Failed-Recipients names them."""
    body = (
        f"Message 1kQzXy-0004Rt-Aa has been frozen {why}.\n"
        f"The sender is <{SENDER}>.\n\n"
        "------ This is a copy of the message's headers. ------\n\n" + returned(addresses[0])
    )
    headers = (
        "From: Mail Delivery System <Mailer-Daemon@mx.mailcast.example>\n"
        f"To: {SENDER}\nSubject: Message frozen\n"
        "Message-Id: <E1kQzXz-0004Ru-Bb@mx.mailcast.example>\n"
        f"X-Failed-Recipients: {', '.join(addresses)}\n"
    )
    return _mail(headers, body)


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.split("\n") if line)


# Postfix ------------------------------------------------------------------------------------


def postfix(
    blocks: list[Block],
    *,
    status: list[tuple[str, str, str]] | None = None,
    subject: str = "Undelivered Mail Returned to Sender",
    action: str = "failed",
) -> bytes:
    """bounce(5): "<a@b>: text" per recipient, long lines continued four spaces in."""
    listed = "\n\n".join(
        f"<{a}>: {_wrap(text)}" if "<" not in a else f"{a}: {_wrap(text)}" for a, text in blocks
    )
    notice = (
        "This is the mail system at host relay.mailcast.example.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "For further assistance, please send mail to postmaster.\n\n"
        "                   The mail system\n\n" + listed + "\n"
    )
    headers = (
        "From: MAILER-DAEMON@relay.mailcast.example (Mail Delivery System)\n"
        f"To: {SENDER}\nSubject: {subject}\n"
    )
    to = ", ".join(a.split(" ")[0].strip("<>") for a, _ in blocks)
    if status is None:
        return _mail(headers, notice + "\n--- original message follows ---\n\n" + returned(to))
    parts = [
        "Content-Description: Notification\n"
        f"Content-Type: text/plain; charset=us-ascii\n\n{notice}",
        "Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        + _status(status, "relay.mailcast.example", action),
        f"Content-Description: Undelivered Message Headers\n"
        f"Content-Type: text/rfc822-headers\n\n{returned(to)}",
    ]
    return _multipart(headers, parts)


def _wrap(text: str) -> str:
    """Postfix folds a block at some 75 columns, going on four spaces in."""
    words, lines, line = text.split(" "), [], ""
    for word in words:
        if line and len(line) + len(word) > 70:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n    ".join([*lines, line])


# Sendmail -----------------------------------------------------------------------------------


def sendmail(
    transcript: str,
    status: list[tuple[str, str, str]],
    *,
    listed: list[str],
    subject: str = "Returned mail: see transcript for details",
    permanent: bool = True,
) -> bytes:
    """V8: the addresses, the session's transcript, a status part for every recipient."""
    kind = "permanent fatal errors" if permanent else "transient non-fatal errors"
    notice = (
        "The original message was received at Fri, 4 Dec 2026 10:00:00 GMT\n"
        "from relay.mailcast.example [192.0.2.1]\n\n"
        f"   ----- The following addresses had {kind} -----\n"
        + "\n".join(f"<{a}>" for a in listed)
        + "\n\n   ----- Transcript of session follows -----\n"
        + transcript
        + "\n"
    )
    headers = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.mailcast.example>\n"
        f"To: {SENDER}\nSubject: {subject}\n"
    )
    parts = [
        f"Content-Type: text/plain\n\n{notice}",
        "Content-Type: message/delivery-status\n\n"
        + _status(status, "relay.mailcast.example", "failed" if permanent else "delayed"),
        f"Content-Type: text/rfc822-headers\n\n{returned(', '.join(listed))}",
    ]
    return _multipart(headers, parts)


# Amazon SES ---------------------------------------------------------------------------------


def ses_json(
    recipients: list[dict[str, str]],
    bounce_type: tuple[str, str],
    *,
    folded: bool = False,
    envelope: bool = True,
) -> bytes:
    """An SNS e-mail subscription's notification; `folded` cuts long lines with "!"."""
    inner = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type[0],
            "bounceSubType": bounce_type[1],
            "bouncedRecipients": recipients,
            "timestamp": "2026-12-04T10:00:00.000Z",
            "feedbackId": "0100-feed",
        },
        "mail": {
            "messageId": "0100-m7",
            "source": SENDER,
            "destination": [r["emailAddress"] for r in recipients],
        },
    }
    payload = {"Type": "Notification", "MessageId": "9b1", "Message": json.dumps(inner)}
    text = json.dumps(payload if envelope else inner)
    if folded:
        text = "!\n ".join(text[n : n + 60] for n in range(0, len(text), 60))
    headers = (
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\n"
        f"To: {SENDER}\nSubject: AWS Notification Message\nx-amz-sns-message-id: 9b1\n"
    )
    return _mail(headers, text + "\n\n--\nIf you wish to stop receiving notifications\n")


def ses_mail(fields: list[tuple[str, str, str]], *, first_line: str) -> bytes:
    """SES's mailed notice, its status fields in their own part."""
    headers = (
        "From: MAILER-DAEMON@email-bounces.amazonses.com\n"
        f"To: {SENDER}\nSubject: Delivery Status Notification (Failure)\n"
        "X-SES-Outgoing: 2026.12.04-192.0.2.64\n"
    )
    status = _status(fields, "a1-2.smtp-out.amazonses.com").replace("dns;", "dsn;", 1)
    parts = [
        f"Content-Type: text/plain; charset=us-ascii\n\n{first_line}\n",
        "Content-Type: message/delivery-status\n\n" + status,
        f"Content-Type: message/rfc822\n\n{returned(fields[0][0])}\nHello\n",
    ]
    return _multipart(headers, parts)


# James, m-FILTER, fml, ARF ------------------------------------------------------------------


def james(error: list[str], recipients: list[str], *, subject: str = "[BOUNCE]") -> bytes:
    """James's AbstractNotify: the error lines, then "Message details:" with RCPT TO."""
    rcpt = f"  RCPT TO: {recipients[0]}\n" + "".join(f"           {r}\n" for r in recipients[1:])
    body = (
        "Hi. This is the James mail server at mx.mailcast.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.  Below\n"
        "I include the list of recipients and the reason why I was unable to deliver\n"
        "your message.\n\nError message below:\n"
        + "\n".join(error)
        + "\n\nMessage details:\n  Subject: December news\n"
        "  Sent date: Fri Dec 04 10:00:00 UTC 2026\n"
        f"  MAIL FROM: {SENDER}\n{rcpt}"
        "  From: News <news@mailcast.example>\n  Size (in bytes): 2048\n  Number of lines: 40\n"
    )
    headers = (
        f"From: postmaster@mx.mailcast.example\nTo: {SENDER}\nSubject: {subject}\n"
        "Message-ID: <987.65.JavaMail.james@mx.mailcast.example>\n"
    )
    return _mail(headers, body)


def mfilter(entries: list[tuple[list[str], str, str]]) -> bytes:
    """m-FILTER: groups of addresses, each group with its server message and SMTP command."""
    body = (
        "このメールは「m-FILTER」が自動的に生成して送信しています。\n"
        "メールサーバーとの通信中、下記の理由により\nこのメールは送信できませんでした。\n\n"
        "以下のメールアドレスへの送信に失敗しました。\n"
    )
    for addresses, reply, step in entries:
        body += "\n".join(addresses) + "\n\n\n"
        body += f"-------server message\n{reply}\n\n-------SMTP command\n{step}\n\n"
    body += "-------original message\n" + returned(entries[0][0][0])
    headers = (
        f"From: MAILER-DAEMON@mf.mailcast.example\nTo: {SENDER}\nSubject: failure notice\n"
        "X-Mailer: m-FILTER\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-2022-jp\n"
    )
    return _mail(headers, body, "iso-2022-jp")


def fml(lines: list[str], subject: str) -> bytes:
    """fml's reply from the list's -admin address; each line with <address> names one."""
    headers = (
        "From: news-admin@lists.mailcast.example\n"
        f"To: {SENDER}\nSubject: {subject}\nX-MLServer: fml [fml 8.0]\n"
        "Message-Id: <202612041000.FML12345.news@lists.mailcast.example>\n"
    )
    body = "\n".join(lines) + "\n\nOriginal mail as follows:\n\n" + returned("news@lists.example")
    return _mail(headers, body)


def arf(fields: list[str], *, returned_to: str = "", intro: str = "") -> bytes:
    """An RFC 5965 report: the given report fields, then the reported message's headers."""
    text = intro or "This is an email abuse report for an email message received from IP 192.0.2.9"
    report = "Feedback-Type: abuse\nUser-Agent: Reporter/2.0\nVersion: 1\n" + "".join(
        f"{f}\n" for f in fields
    )
    parts = [
        f"Content-Type: text/plain\n\n{text}\n",
        f"Content-Type: message/feedback-report\n\n{report}",
        f"Content-Type: text/rfc822-headers\n\n{returned(returned_to or 'x@isp.example')}",
    ]
    headers = f"From: fbl@isp.example\nTo: {SENDER}\nSubject: Abuse report\n"
    return _mail(
        headers + "MIME-Version: 1.0\nContent-Type: multipart/report; "
        'report-type=feedback-report; boundary="P9"\n',
        "".join(f"--P9\n{p}\n" for p in parts) + "--P9--\n",
    )


def complaint_mixed(sender: str, recipients: list[str]) -> bytes:
    """A complaint as multipart/mixed: the report fields in the text, the message attached."""
    fields = "".join(f"Original-Rcpt-To: <{r}>\n" for r in recipients)
    parts = [
        "Content-Type: text/plain\n\nThis is an email abuse report for an email message"
        f" received from IP 192.0.2.9\n\nFeedback-Type: abuse\nVersion: 1\n{fields}",
        f"Content-Type: message/rfc822\n\n{returned(recipients[0])}\nHello\n",
    ]
    headers = f"From: {sender}\nTo: {SENDER}\nSubject: complaint about message from 192.0.2.9\n"
    return _multipart(headers, parts, "mixed")
