"""Test notices of mail services and gateways with layouts of their own (Zoho Mail, MailMarshal,
Verizon's SMS/MMS gateways) and of the qmail clones' openings.

Same conventions as `notices`: a builder takes `Failure`s and writes the notice as that
service does. Addresses, hosts and wording are our own; layouts follow each one's template.
"""

from __future__ import annotations

from notices import _QMAIL_STEP, SENDER, Failure, _mail, returned


def zoho(failures: list[Failure]) -> bytes:
    """A remote reply on the recipient's line; a host never reached in a "[Status: ...]" line."""
    lines = []
    for f in failures:
        if f.reply[:1].isdigit():
            code, _, text = f.reply.partition(" ")
            lines.append(f"{f.address} Invalid Address, ERROR_CODE :{code}, ERROR_CODE :{text}")
        else:
            lines.append(f"[Status: Error, Address: <{f.address}>, ResponseCode 421, , {f.reply}]")
    body = (
        "This message was created automatically by mail delivery software.\n"
        "A message that you sent could not be delivered to one or more of its recipients. "
        "This is a permanent error.\n\n" + "\n\n".join(lines) + "\n\n"
        "Received:from mail.zoho.example by mx.zohomail.example with SMTP id 1418\n"
        + returned(", ".join(f.address for f in failures))
    )
    headers = (
        f"From: mailer-daemon@mail.zoho.example\nTo: {SENDER}\n"
        "Subject: Undelivered Mail Returned to Sender\nX-ZohoMail: Si CHF_MF_NL SS_10\n"
    )
    return _mail(headers, body)


def mailmarshal(addresses: list[str], reply: str) -> bytes:
    """One reason for the whole message, then every recipient it affected."""
    body = (
        f"Your message:\n   From:    {SENDER}\n   Subject: December news\n\n"
        f"Could not be delivered because of\n\n{reply}\n\n"
        "The following recipients were affected:\n"
        + "".join(f"    {a}\n" for a in addresses)
        + "\nAdditional Information\n======================\n"
        f"Original Sender:    <{SENDER}>\nReporting-MTA:      <gw.dest.example>\n"
    )
    headers = (
        f"From: postmaster@gw.dest.example\nTo: {SENDER}\n"
        'Subject: Undeliverable Mail: "December news"\n'
    )
    return _mail(headers, body)


def verizon(number: str, *, sms: bool) -> bytes:
    """vtext.com (SMS) names the recipient after RCPT TO; vzwpix.com (MMS) in the copy's To."""
    if sms:
        sender = "post_master@vtext.com"
        body = (
            "Error: the message could not be delivered\n"
            "550 - Requested action not taken: no such user here\n\n"
            f"Message details:\n  Subject: December news\n  MAIL FROM: {SENDER}\n"
            f"  RCPT TO: {number}@vtext.com\n"
        )
    else:
        sender = "sysadmin@mms.vzwpix.com"
        body = (
            "Message could not be delivered to mobile.\n"
            "Error: No valid recipients for this MM\n\n"
            f"Original Message:\nFrom: News <{SENDER}>\nTo: {number}@vzwpix.com\n"
            "Subject: December news\n"
        )
    headers = (
        f"From: {sender}\nTo: {SENDER}\nSubject: Undeliverable Message\n"
        "Received: from smtp1.vtext.com (smtp1.vtext.com [192.0.2.40]) by mx.mailcast.example\n"
    )
    return _mail(headers, body)


QMAIL_CLONE_OPENINGS = (
    "We're sorry. There's a problem with the e-mail address(es) you're trying to send to.",
    "Hi. This is the mail delivery agent at mx.dest.example.\n"
    "I'm afraid I wasn't able to deliver your message.",
    "This is the machine generated message from mail service.\n"
    "Unable to deliver message to the following address(es).",
    "Su mensaje no pudo ser entregado.",
)


def qmail_clone(failures: list[Failure], opening: str) -> bytes:
    """A qmail clone: its own opening sentence, qmail-send's list below it."""
    blocks = [
        f"<{f.address}>:\n{_QMAIL_STEP.get(f.step, '')}\nRemote host said: {f.reply}\n"
        for f in failures
    ]
    body = (
        f"{opening}\n\n"
        + "\n".join(blocks)
        + "\n--- Below this line is a copy of the message.\n\n"
        + returned(failures[0].address)
    )
    headers = (
        f"From: MAILER-DAEMON@mx.dest.example\nTo: {SENDER}\nSubject: failure notice\n"
        "Received: (qmail 2222 invoked for bounce); 4 Dec 2026 10:00:00 -0000\n"
    )
    return _mail(headers, body)


def sendmail_v5_bare(verdicts: list[str]) -> bytes:
    """Old Sendmail writing its verdicts with bare addresses and no session transcript."""
    body = (
        "   ----- Transcript of session follows -----\n"
        + "\n".join(verdicts)
        + "\n\n   ----- Unsent message follows -----\n"
        + returned("list@dest.example")
        + "\nHello\n"
    )
    headers = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@old.mailcast.example>\n"
        f"To: {SENDER}\nSubject: Returned mail: User unknown\n"
    )
    return _mail(headers, body)


def x3_detail(address: str, detail: str) -> bytes:
    """Unknown MTA #3 whose technical detail is a routing failure or a Diagnostic-Code line."""
    rule = "=" * 76
    body = (
        f"{rule}\n      This is an automatically generated Delivery Status Notification.\n\n"
        f"Delivery to the following recipients failed permanently:\n\n  * {address}\n\n\n"
        f"{rule}\n                            Technical details:\n\n{detail}\n\n\n{rule}\n"
    )
    headers = (
        f"From: Mail Delivery System <MAILER-DAEMON@x3.example>\nTo: {SENDER}\n"
        "Subject: Delivery status notification\n"
    )
    return _mail(headers, body + "\n" + returned(address))
