"""Test notices of the families added after notices.py: each in its own layout, many recipients.

Same conventions as `notices`: a builder takes `Failure`s (what happened to each recipient,
what the parser must conclude) and writes the notice as that MTA does. Some layouts carry an
MTA's own message instead of a remote reply; `own(address, text, reason)` makes such a
Failure. Addresses, hosts and wording are our own; layouts follow each MTA's templates.
"""

from __future__ import annotations

from notices import SENDER, Failure, _mail, _report, returned


def own(address: str, text: str, reason: str) -> Failure:
    """A failure the reporting MTA describes in its own words (no remote reply, no step)."""
    return Failure(address, "", text, reason, "5.0.0")


def _to(failures: list[Failure]) -> str:
    return ", ".join(f.address for f in failures)


# OpenSMTPD ----------------------------------------------------------------------------------


def opensmtpd(failures: list[Failure], *, delayed: bool = False) -> bytes:
    intro = (
        "    A message is delayed for more than 4 hours for the following\n    list of recipients:"
        if delayed
        else "    An error has occurred while attempting to deliver a message for\n"
        "    the following list of recipients:"
    )
    lines = "\n".join(f"{f.address}: {f.reply}" for f in failures)
    body = (
        "    Hi!\n\n    This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.\n\n"
        f"{intro}\n\n{lines}\n\n    Below is a copy of the original message:\n\n"
        + returned(_to(failures))
    )
    kind = "warning" if delayed else "error"
    headers = (
        "From: Mailer Daemon <MAILER-DAEMON@obsd.mailcast.example>\n"
        f"To: {SENDER}\nSubject: Delivery status notification: {kind}\n"
    )
    return _mail(headers, body)


# Yahoo! Mail --------------------------------------------------------------------------------

_YAHOO_TOKEN = {"RCPT": " [RCPT_TO]", "DATA": " [DATA]", "MAIL": " [MAIL_FROM]"}


def yahoo(failures: list[Failure], *, split: bool = False) -> bytes:
    """`split`: "Remote host said:", the reply and the step token on lines of their own."""
    blocks = []
    for f in failures:
        token = _YAHOO_TOKEN.get(f.step, "")
        if f.step == "" and not f.reply[:1].isdigit():
            blocks.append(f"<{f.address}>:\n{f.reply}")
        elif split:
            blocks.append(f"<{f.address}>:\nRemote host said:\n{f.reply}\n{token.strip()}")
        else:
            blocks.append(f"<{f.address}>:\nRemote host said: {f.reply}{token}")
    body = (
        "Sorry, we were unable to deliver your message to the following address.\n\n"
        + "\n\n".join(blocks)
        + "\n\n--- Below this line is a copy of the message.\n\n"
        + returned(_to(failures))
    )
    headers = (
        "X-YMailISG: q0wErTy_mailcast_test\nFrom: MAILER-DAEMON@yahoo.example\n"
        f"To: {SENDER}\nSubject: Failure Notice\n"
    )
    return _mail(headers, body)


# DragonFly Mail Agent -----------------------------------------------------------------------

_DMA_STEP = {"RCPT": "RCPT TO", "DATA": "DATA", "MAIL": "MAIL FROM"}


def dragonfly(failures: list[Failure]) -> bytes:
    blocks = []
    for f in failures:
        said = (
            f"mx.{f.address.split('@')[1]} [192.0.2.25] did not like our {_DMA_STEP[f.step]}:\n"
            if f.step in _DMA_STEP
            else ""
        )
        blocks.append(
            f"There was an error delivering your mail to <{f.address}>.\n\n{said}{f.reply}"
        )
    body = (
        "This is the DragonFly Mail Agent v0.13 at dma.mailcast.example.\n\n"
        + "\n\n".join(blocks)
        + "\n\nOriginal message follows.\n\n"
        + returned(_to(failures))
    )
    headers = (
        "Received: from dma.mailcast.example (dma.mailcast.example [192.0.2.4])\n"
        "\tby dma.mailcast.example (DragonFly Mail Agent v0.13);\n"
        "\tFri, 4 Dec 2026 10:00:00 +0000\n"
        f"From: MAILER-DAEMON <>\nTo: {SENDER}\nSubject: Mail delivery failed\n"
    )
    return _mail(headers, body)


# Courier ------------------------------------------------------------------------------------

_COURIER_STEP = {"RCPT": "RCPT TO:<{a}>", "DATA": "DATA", "MAIL": f"MAIL FROM:<{SENDER}>"}


def courier(failures: list[Failure]) -> bytes:
    blocks = []
    for f in failures:
        if f.step in _COURIER_STEP:
            session = f">>> {_COURIER_STEP[f.step].format(a=f.address)}\n<<< {f.reply}"
            blocks.append(f"<{f.address}>:\n    mx.dest.example [192.0.2.45]:\n{session}")
        else:
            blocks.append(f"<{f.address}>:\n<<< {f.reply}")
    notice = (
        "This is a delivery status notification from courier.mailcast.example,\n"
        "running the Courier mail server, version 1.1.5.\n\n"
        + "-"
        * 75
        + "\n\n                           UNDELIVERABLE MAIL\n\n"
        "Your message to the following recipients cannot be delivered:\n\n"
        + "\n\n".join(blocks)
        + "\n\n"
        + "-" * 75
        + "\n\nIf your message was also sent to additional recipients, their delivery\n"
        "status is not included in this report.\n"
    )
    status = "Reporting-MTA: dns; courier.mailcast.example\n\n" + "\n".join(
        f"Final-Recipient: rfc822; {f.address}\nAction: failed\nStatus: 5.0.0\n" for f in failures
    )
    headers = (
        "From: Courier mail server at courier.mailcast.example <@>\n"
        f"To: {SENDER}\nSubject: NOTICE: mail delivery status.\n"
        "Message-ID: <courier.5F0A1B2C.00001234@courier.mailcast.example>\n"
    )
    return _report(notice, status, _to(failures), headers)


# PowerMTA -----------------------------------------------------------------------------------


def powermta(failures: list[Failure], categories: list[str], comments: list[str]) -> bytes:
    notice = (
        "Hello, this is the mail server on pmta.mailcast.example.\n\n"
        "I am sending you this message to inform you on the delivery status of a\n"
        "message you previously sent.  Immediately below you will find a list of\n"
        "the affected recipients.\n\n"
        + "\n".join(f"  <{f.address}>  delivery failed; will not continue trying" for f in failures)
    )
    status = "Reporting-MTA: dns;pmta.mailcast.example\n\n" + "\n".join(
        f"Final-Recipient: rfc822;{f.address}\nAction: failed\n"
        f"Status: {f.status} ({comment})\nDiagnostic-Code: smtp;{f.reply}\n"
        f"X-PowerMTA-BounceCategory: {category}\n"
        for f, category, comment in zip(failures, categories, comments, strict=True)
    )
    headers = f"From: postmaster@pmta.mailcast.example\nTo: {SENDER}\nSubject: Delivery report\n"
    return _report(notice, status, _to(failures), headers)


# Sun / Oracle Messaging Server --------------------------------------------------------------


def messagingserver(failures: list[Failure]) -> bytes:
    blocks = [
        f"  Recipient address: {f.address}\n"
        "  Reason: Remote SMTP server has rejected address\n"
        f"  Diagnostic code: smtp;{f.reply}\n"
        "  Remote system: dns;mx.dest.example (TCP|192.0.2.1|47323|192.0.2.225|25)"
        for f in failures
    ]
    notice = (
        "This report relates to a message you sent with the following header fields:\n\n"
        f"  Message-id: <m-7@mailcast.example>\n  To: {_to(failures)}\n  Subject: News\n\n"
        "Your message cannot be delivered to the following recipients:\n\n" + "\n\n".join(blocks)
    )
    status = "Reporting-MTA: dns;ms.mailcast.example (tcp-daemon)\n\n" + "\n".join(
        f"Original-recipient: rfc822;{f.address}\nFinal-recipient: rfc822;{f.address}\n"
        f"Action: failed\nStatus: {f.status} (Remote SMTP server has rejected address)\n"
        f"Diagnostic-code: smtp;{f.reply}\n"
        for f in failures
    )
    headers = (
        "From: Internet Mail Delivery <postmaster@ms.mailcast.example>\n"
        f"To: {SENDER}\nSubject: Delivery Notification: Delivery has failed\n"
    )
    return _report(notice, status, _to(failures), headers)


# Lotus Notes --------------------------------------------------------------------------------


def notes(failures: list[Failure]) -> bytes:
    reasons = "\n\n".join(f"{f.reply}\n{f.address}" for f in failures)
    body = (
        f"------- Failure Reasons  --------\n\n{reasons}\n\n"
        "------- Returned Message --------\n" + returned(_to(failures))
    )
    headers = (
        f"From: postmaster@notes.mailcast.example\nTo: {SENDER}\nSubject: Undeliverable message\n"
    )
    return _mail(headers, body)


# IMail Server -------------------------------------------------------------------------------


def imailserver(failures: list[Failure]) -> bytes:
    blocks = []
    for f in failures:
        if f.step:
            blocks.append(
                f"undeliverable to {f.address}\nBody of message generated response:\n{f.reply}"
            )
        else:
            blocks.append(f"{f.reply}: {f.address}")
    body = "\n\n".join(blocks) + "\n\nOriginal message follows.\n\n" + returned(_to(failures))
    headers = (
        'From: "Postmaster" <postmaster@imail.mailcast.example>\n'
        f"To: {SENDER}\nSubject: Undeliverable Mail\nX-Mailer: <SMTP32 v8.22>\n"
    )
    return _mail(headers, body)


# au by KDDI (EZweb) -------------------------------------------------------------------------


def ezweb(failures: list[Failure], *, sentence: str = "") -> bytes:
    """A session per recipient; with `sentence`, au's own fixed sentence and bare addresses."""
    if sentence:
        listed = "\n".join(f"<{f.address}>" for f in failures)
        text = f"{sentence}\nThe following recipients did not receive this message:\n{listed}"
    else:
        blocks = [
            f"    Recipient: <{f.address}>\n    >>> RCPT TO:<{f.address}>\n    <<< {f.reply}"
            for f in failures
        ]
        text = "Each of the following recipients was rejected by a remote\nmail server.\n\n"
        text += "\n\n".join(blocks)
    body = text + "\n\n" + "-" * 50 + "\n" + returned(_to(failures))
    headers = (
        f"From: Postmaster@ezweb.ne.jp\nTo: {SENDER}\n"
        "Subject: Mail System Error - Returned Mail\n"
        "Message-ID: <20261204000000.ABCDEF@nm01.ezweb.ne.jp>\n"
    )
    return _mail(headers, body)


# Trend Micro InterScan ----------------------------------------------------------------------


def trendmicro(failures: list[Failure]) -> bytes:
    lines = []
    for f in failures:
        lines += [f"Sent <<< RCPT TO:<{f.address}>", f"Received >>> {f.reply}", ""]
    body = "...\n\n" + "\n".join(lines) + "\n...\n\n" + "*" * 20 + " End of message " + "*" * 20
    headers = (
        'From: "InterScan MSS" <postmaster@ismss.mailcast.example>\n'
        f"To: {SENDER}\nSubject: Mail could not be delivered\n"
    )
    return _mail(headers, body + "\n")


# Exchange Server 2003 -----------------------------------------------------------------------


def exchange2003(failures: list[Failure], codes: list[str]) -> bytes:
    blocks = [
        f"{f.address} on Fri, 4 Dec 2026 10:00:00 +0000\n    {f.reply}\n"
        f"    MSEXCH:IMS:MAILCAST:EXAMPLE:EX01 0 ({code}) {f.reply}"
        for f, code in zip(failures, codes, strict=True)
    ]
    body = (
        "Your message\n\n  To:      news@mailcast.example\n  Subject: News\n"
        "  Sent:    Fri, 4 Dec 2026 09:00:00 +0000\n\n"
        "did not reach the following recipient(s):\n\n" + "\n".join(blocks) + "\n"
    )
    headers = (
        "From: System Administrator <postmaster@ex.mailcast.example>\n"
        f"To: {SENDER}\nSubject: Undeliverable: News\n"
        "X-Mailer: Internet Mail Service (5.5.2657.72)\n"
    )
    return _mail(headers, body)


# Google Groups ------------------------------------------------------------------------------


def googlegroups(groups: list[str]) -> bytes:
    body = (
        f"Hello {SENDER},\n\n"
        "We're writing to let you know that the group you tried to contact (news) may not\n"
        "exist, or you may not have permission to post messages to the group.\n\n"
        " * You might have spelled or formatted the group name incorrectly.\n"
        " * The owner of the group may have removed this group.\n"
        " * You may need to join the group before receiving permission to post.\n"
        " * This group may not be open to posting.\n\n"
        "If you have questions related to this or any other Google Group,\n"
        "visit the Help Center at https://groups.google.com/support/.\n\n"
        "Thanks,\n\nGoogle Groups\n\n----- Original message -----\n\n" + returned(groups[0])
    )
    headers = (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        f"To: {SENDER}\nSubject: Delivery Status Notification (Failure)\n"
        f"X-Failed-Recipients: {', '.join(groups)}\n"
    )
    return _mail(headers, body)


# Office 365 ---------------------------------------------------------------------------------


def office365(failures: list[Failure]) -> bytes:
    listed = "\n".join(
        f"{f.address}<mailto:{f.address}>\nThe email address wasn't found at the destination "
        "domain. It might be misspelled or it might not exist any longer."
        for f in failures
    )
    errors = "\n\n".join(f"{f.address}\nRemote Server returned '{f.reply}'" for f in failures)
    body = (
        f"Delivery has failed to these recipients or groups:\n\n{listed}\n\n"
        "Diagnostic information for administrators:\n\n"
        f"Generating server: AB1CD2.prod.outlook.com\n\n{errors}\n\n"
        "Original message headers:\n\n" + returned(_to(failures))
    )
    headers = (
        "From: <postmaster@dest.onmicrosoft.com>\n"
        f"To: {SENDER}\nSubject: Undeliverable: News\n"
        "X-MS-Exchange-Message-Is-Ndr:\n"
        "Message-ID: <0000aaaa-bbbb@AB1CD2.prod.outlook.com>\n"
    )
    return _mail(headers, body)


# au by KDDI ---------------------------------------------------------------------------------


def kddi(failures: list[Failure], *, spasign: bool = False) -> bytes:
    blocks = "\n".join(
        f"     Could not be delivered to: <{f.address}>\n     {f.reply}" for f in failures
    )
    notice = f"Your mail sent on: Fri, 4 Dec 2026 10:00:00 +0900\n{blocks}\n"
    body = (
        f"--K0\nContent-Type: text/plain; charset=us-ascii\n\n{notice}\n--K0\n"
        f"Content-Type: message/rfc822\n\n{returned(_to(failures))}\nHello\n--K0--\n"
    )
    headers = (
        f"From: no-reply@mx01.dion.ne.jp\nTo: {SENDER}\nSubject: Mail\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="K0"\n'
    ) + ("X-SPASIGN: NG\n" if spasign else "")
    return _mail(headers, body)


# A notice that lists its recipients only in X-Failed-Recipients -----------------------------


def failed_recipients_only(addresses: list[str]) -> bytes:
    body = (
        "This is an automatically generated message.\n\n"
        "Your message could not be delivered. 550 5.1.1 Recipient address rejected:"
        " User unknown\n"
    )
    headers = (
        f"From: Mail Delivery System <MAILER-DAEMON@relay.mailcast.example>\nTo: {SENDER}\n"
        f"Subject: Undelivered Mail\nX-Failed-Recipients: {', '.join(addresses)}\n"
    )
    return _mail(headers, body)
