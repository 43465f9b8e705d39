"""Small hand-made feedback messages in the formats real MTAs and providers send.

Each builder returns raw bytes as they would reach the bounce receiver. The wording follows
what each MTA writes (Postfix's bounce(5) templates, Exim's and qmail's notices, Sendmail's
transcript, Exchange's NDR...), with addresses and hosts of our own.
"""

from __future__ import annotations

SENDER = "bounce+t1.abc@bounces.mailcast.example"
RETURNED_ID = "<m-1@mailcast.example>"


def returned_headers(to: str) -> str:
    return (
        f"Return-Path: <{SENDER}>\n"
        f"Message-ID: {RETURNED_ID}\n"
        "From: News <news@mailcast.example>\n"
        f"To: {to}\n"
        "Subject: May news\n"
        "X-Mailcast-Delivery: 7\n"
    )


def multipart_report(
    notice: str,
    status: str,
    returned: str,
    *,
    report_type: str = "delivery-status",
    status_type: str = "message/delivery-status",
    subject: str = "Undelivered Mail Returned to Sender",
    sender: str = "MAILER-DAEMON@mx.relay.example (Mail Delivery System)",
    returned_type: str = "text/rfc822-headers",
) -> bytes:
    """An RFC 6522 multipart/report: the notice, the status fields, the returned headers."""
    text = (
        f"From: {sender}\n"
        f"To: {SENDER}\n"
        f"Subject: {subject}\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="BOUNDARY"\n'
        "\n"
        "--BOUNDARY\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        f"{notice}\n"
        "--BOUNDARY\n"
        f"Content-Type: {status_type}\n"
        "\n"
        f"{status}\n"
        "--BOUNDARY\n"
        f"Content-Type: {returned_type}\n"
        "\n"
        f"{returned}\n"
        "--BOUNDARY--\n"
    )
    return text.replace("\n", "\r\n").encode()


def plain_notice(
    body: str,
    *,
    subject: str,
    sender: str = "Mail Delivery System <MAILER-DAEMON@mx.relay.example>",
    extra_headers: str = "",
) -> bytes:
    """A single text/plain notice, as Exim, qmail and many providers send."""
    text = (
        f"From: {sender}\n"
        f"To: {SENDER}\n"
        f"Subject: {subject}\n"
        f"{extra_headers}"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        f"{body}"
    )
    return text.encode("utf-8")


def postfix_dsn(
    address: str,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "",
    said: str = "",
    step: str = "RCPT TO",
) -> bytes:
    """Postfix's bounce: its notice, the DSN fields, the returned headers."""
    diagnostic = diagnostic or f"550 {status} <{address}>: Recipient address rejected: User unknown"
    said = said or diagnostic
    notice = (
        "This is the mail system at host mx.relay.example.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "                   The mail system\n\n"
        f"<{address}>: host mx.example.org[192.0.2.10] said: {said} (in reply to\n"
        f"    {step} command)\n"
    )
    fields = (
        "Reporting-MTA: dns; mx.relay.example\n"
        "X-Postfix-Queue-ID: 4Zx1Y2\n"
        f"X-Postfix-Sender: rfc822; {SENDER}\n"
        "Arrival-Date: Mon,  5 Jan 2026 09:00:00 +0000 (UTC)\n"
        "\n"
        f"Final-Recipient: rfc822; {address}\n"
        f"Original-Recipient: rfc822;{address}\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        "Remote-MTA: dns; mx.example.org\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n"
    )
    return multipart_report(notice, fields, returned_headers(address))


def exim_notice(address: str, reply: str, *, step: str = "RCPT TO:<{address}>") -> bytes:
    """Exim's plain-text failure notice, X-Failed-Recipients and the copy of the message."""
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {address}\n"
        "    host mx.example.org [192.0.2.11]\n"
        f"    SMTP error from remote mail server after {step.format(address=address)}:\n"
        f"    {reply}\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        f"{returned_headers(address)}\nHello\n"
    )
    return plain_notice(
        body,
        subject="Mail delivery failed: returning message to sender",
        extra_headers=f"X-Failed-Recipients: {address}\nAuto-Submitted: auto-replied\n",
    )


def sendmail_dsn(address: str, reply: str, status: str) -> bytes:
    """Sendmail's notice with its session transcript, and the DSN fields."""
    notice = (
        "The original message was received at Mon, 5 Jan 2026 09:00:00 GMT\n"
        "from localhost [127.0.0.1]\n\n"
        "   ----- The following addresses had permanent fatal errors -----\n"
        f"<{address}>\n"
        f"    (reason: {reply})\n\n"
        "   ----- Transcript of session follows -----\n"
        "... while talking to mx.example.org.:\n"
        f">>> DATA\n<<< {reply}\n"
        f"554 5.0.0 Service unavailable\n"
    )
    fields = (
        "Reporting-MTA: dns; sendmail.relay.example\n"
        "Received-From-MTA: DNS; localhost\n"
        "Arrival-Date: Mon, 5 Jan 2026 09:00:00 GMT\n\n"
        f"Final-Recipient: RFC822; {address}\n"
        "Action: failed\n"
        f"Status: {status}\n"
        "Remote-MTA: DNS; mx.example.org\n"
        f"Diagnostic-Code: SMTP; {reply}\n"
        "Last-Attempt-Date: Mon, 5 Jan 2026 09:00:01 GMT\n"
    )
    return multipart_report(
        notice,
        fields,
        returned_headers(address),
        subject="Returned mail: see transcript for details",
        sender="Mail Delivery Subsystem <MAILER-DAEMON@sendmail.relay.example>",
    )


def qmail_notice(address: str, said: str) -> bytes:
    """qmail-send's notice: the recipient in angle brackets, then what went wrong."""
    body = (
        "Hi. This is the qmail-send program at qmail.relay.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{address}>:\n{said}\n\n"
        "--- Below this line is a copy of the message.\n\n"
        f"{returned_headers(address)}\nHello\n"
    )
    return plain_notice(body, subject="failure notice", sender="MAILER-DAEMON@qmail.relay.example")


def exchange_ndr(address: str, diagnostic: str, status: str) -> bytes:
    """Exchange/Office 365's NDR: a human notice and RFC 3464 fields."""
    notice = (
        "Delivery has failed to these recipients or groups:\n\n"
        f"{address}\n"
        "The email address you entered couldn't be found. Please check the recipient's\n"
        "email address and try to resend the message.\n\n"
        "Diagnostic information for administrators:\n\n"
        "Generating server: EXCH01.relay.example\n\n"
        f"{address}\n"
        f"Remote Server returned '{diagnostic}'\n"
    )
    fields = (
        "Reporting-MTA: dns;EXCH01.relay.example\n"
        "Received-From-MTA: dns;EXCH02.relay.example\n\n"
        f"Final-Recipient: rfc822;{address}\n"
        "Action: failed\n"
        f"Status: {status}\n"
        f"Diagnostic-Code: smtp;{diagnostic}\n"
    )
    return multipart_report(
        notice,
        fields,
        returned_headers(address),
        subject="Undeliverable: May news",
        sender="postmaster@relay.example",
    )


def exchange2003_notice(address: str, code: str, words: str) -> bytes:
    """Exchange 2000/2003: no DSN part, the cause is an MSEXCH code in the notice."""
    body = (
        "Your message did not reach some or all of the intended recipients.\n\n"
        "      Subject:  May news\n"
        "      Sent:     1/5/2026 9:00 AM\n\n"
        "The following recipient(s) could not be reached:\n\n"
        f"      {address} on 1/5/2026 9:00 AM\n"
        f"            {words}\n"
        f"            <EXCH.relay.example #5.0.0 X-MSEXCH:IMS:Relay:Site:EXCH 0 ({code}) "
        f"{words}>\n"
    )
    return plain_notice(body, subject="Undeliverable: May news", sender="System Administrator")


def gmail_notice(address: str, reply: str) -> bytes:
    """Gmail's plain-text notice naming the remote server's reply."""
    body = (
        "Delivery to the following recipient failed permanently:\n\n"
        f"     {address}\n\n"
        "Technical details of permanent failure:\n"
        "Google tried to deliver your message, but it was rejected by the server for the\n"
        "recipient domain example.org by mx.example.org. [192.0.2.30].\n\n"
        "The error that the other server returned was:\n"
        f"{reply}\n\n"
        "----- Original message -----\n\n"
        f"{returned_headers(address)}\nHello\n"
    )
    return plain_notice(
        body,
        subject="Delivery Status Notification (Failure)",
        sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    )


def yahoo_notice(address: str, said: str) -> bytes:
    """Yahoo's notice: the recipient in angle brackets and the remote host's words."""
    body = (
        "Sorry, we were unable to deliver your message to the following address.\n\n"
        f"<{address}>:\n"
        f"Remote host said: {said}\n\n"
        "--- Below this line is a copy of the message.\n\n"
        f"{returned_headers(address)}\nHello\n"
    )
    return plain_notice(
        body,
        subject="Failure Notice",
        sender="MAILER-DAEMON@yahoo.example",
    )


def arf_report(address: str, feedback_type: str = "abuse") -> bytes:
    """An RFC 5965 complaint: notice, machine-readable report, the original message."""
    text = (
        "From: Feedback Loop <fbl@isp.example>\n"
        f"To: {SENDER}\n"
        "Subject: FW: May news\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"\n'
        "\n"
        "--ARF\n"
        "Content-Type: text/plain\n"
        "\n"
        "This is an email abuse report for an email message received from IP 192.0.2.5.\n"
        "--ARF\n"
        "Content-Type: message/feedback-report\n"
        "\n"
        f"Feedback-Type: {feedback_type}\n"
        "User-Agent: ISP-FBL/1.0\n"
        "Version: 1\n"
        f"Original-Mail-From: <{SENDER}>\n"
        f"Original-Rcpt-To: <{address}>\n"
        "Arrival-Date: Mon, 5 Jan 2026 09:00:00 +0000\n"
        "Source-IP: 192.0.2.5\n"
        "--ARF\n"
        "Content-Type: message/rfc822\n"
        "\n"
        f"{returned_headers(address)}\nHello\n"
        "--ARF--\n"
    )
    return text.encode()


def auto_reply(address: str) -> bytes:
    """An RFC 3834 automatic reply from the recipient's mailbox."""
    text = (
        f"From: Ivan <{address}>\n"
        f"To: {SENDER}\n"
        "Subject: Out of office: May news\n"
        "Auto-Submitted: auto-replied\n"
        f"In-Reply-To: {RETURNED_ID}\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "I am out of the office until Monday and will read your message then.\n"
    )
    return text.encode()


def global_dsn(address: str, status: str, diagnostic: str) -> bytes:
    """RFC 6533: message/global-delivery-status, where addresses may be UTF-8."""
    fields = (
        "Reporting-MTA: dns; mx.relay.example\n\n"
        f"Final-Recipient: utf-8; {address}\n"
        "Action: failed\n"
        f"Status: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n"
    )
    return multipart_report(
        "Your message could not be delivered.",
        fields,
        returned_headers(address),
        report_type="global-delivery-status",
        status_type="message/global-delivery-status",
        returned_type="message/global-headers",
    )
