"""Test notices in each MTA family's layout, with wording variants, several recipients and steps.

The project's own fixtures: each builder writes a notice as that family writes it (its start
line, its list of recipients, where it names the SMTP step), from a list of `Failure`s that
say what happened to each recipient and what the parser should conclude. Addresses, hosts
and replies are our own; the layouts follow each MTA's documented or observed templates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

SENDER = "bounce+t1.abc@bounces.mailcast.example"
RETURNED_ID = "<m-7@mailcast.example>"


@dataclass(frozen=True)
class Failure:
    """One recipient's fate: the step refused, the server's reply, the expected reason."""

    address: str
    step: str  # RCPT, DATA, MAIL, CONN or "" (none stated)
    reply: str  # "550 5.1.1 <a@b>... User unknown"
    reason: str  # what the parser must conclude
    status: str = "5.0.0"  # the Status field a DSN part would carry

    @property
    def hard(self) -> bool:
        return self.reason in ("userunknown", "hostunknown", "hasmoved")


def unknown_at_rcpt(address: str, wording: int = 0) -> Failure:
    replies = (
        f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table",
        f"550 5.1.1 <{address}>... User unknown",
        "550 No such user here",
        f"550 Requested action not taken: mailbox unavailable <{address}>",
    )
    return Failure(address, "RCPT", replies[wording % len(replies)], "userunknown", "5.1.1")


def unknown_after_data(address: str, wording: int = 0) -> Failure:
    """A filter refusing the message once it is sent, in a user-unknown phrase: filtered."""
    replies = (
        f"550 Unknown user {address}",
        "550 user unknown",
        f"554 <{address}>: Recipient address rejected: user does not exist",
    )
    return Failure(address, "DATA", replies[wording % len(replies)], "filtered", "5.0.0")


def mailbox_full(address: str) -> Failure:
    return Failure(address, "RCPT", f"552 5.2.2 <{address}>: Mailbox full", "mailboxfull", "5.2.2")


def sender_refused(address: str) -> Failure:
    return Failure(
        address,
        "MAIL",
        "553 5.1.8 <shop@mailcast.example>... Domain of sender address does not exist",
        "rejected",
        "5.1.8",
    )


def spam_refused(address: str) -> Failure:
    return Failure(
        address,
        "DATA",
        "554 5.7.1 Message rejected as spam by Content Filtering",
        "spamdetected",
        "5.7.1",
    )


def returned(to: str) -> str:
    return (
        f"Return-Path: <{SENDER}>\n"
        f"Message-ID: {RETURNED_ID}\n"
        "From: News <news@mailcast.example>\n"
        f"To: {to}\n"
        "Subject: December news\n"
    )


def _mail(headers: str, body: str) -> bytes:
    return (headers + "\n" + body).replace("\n", "\r\n").encode()


def _report(notice: str, status: str, to: str, headers: str) -> bytes:
    body = (
        "This is a MIME-encapsulated message.\n\n--B0\n"
        "Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"{notice}\n\n--B0\nContent-Description: Delivery report\n"
        f"Content-Type: message/delivery-status\n\n{status}\n\n--B0\n"
        f"Content-Type: text/rfc822-headers\n\n{returned(to)}\n--B0--\n"
    )
    return _mail(
        headers + "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B0"\n',
        body,
    )


def _status_fields(failures: list[Failure], mta: str) -> str:
    blocks = [f"Reporting-MTA: dns; {mta}\n"]
    for f in failures:
        blocks.append(
            f"Final-Recipient: rfc822; {f.address}\nAction: failed\nStatus: {f.status}\n"
            f"Diagnostic-Code: smtp; {f.reply}\n"
        )
    return "\n".join(blocks)


# Postfix ------------------------------------------------------------------------------------

_POSTFIX_STEP = {
    "RCPT": "RCPT TO",
    "DATA": "end of DATA",
    "MAIL": "MAIL FROM",
}


def postfix(failures: list[Failure], *, with_status: bool = True, wrap: bool = False) -> bytes:
    """bounce(5): "<a@b>: host X said: reply (in reply to STEP command)" per recipient."""
    blocks = []
    for f in failures:
        said = f"host mx.{f.address.split('@')[1]}[192.0.2.25] said: {f.reply}"
        step = f" (in reply to {_POSTFIX_STEP[f.step]} command)" if f.step in _POSTFIX_STEP else ""
        if wrap:
            blocks.append(f"<{f.address}>: {said[:40]}\n    {said[40:]}{step}")
        else:
            blocks.append(f"<{f.address}>: {said}{step}")
    notice = (
        "This is the mail system at host relay.mailcast.example.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "                   The mail system\n\n" + "\n\n".join(blocks)
    )
    headers = (
        "From: MAILER-DAEMON@relay.mailcast.example (Mail Delivery System)\n"
        f"To: {SENDER}\nSubject: Undelivered Mail Returned to Sender\n"
    )
    to = ", ".join(f.address for f in failures)
    if with_status:
        status = _status_fields(failures, "relay.mailcast.example")
        return _report(notice, status.replace("Status: 5.0.0", "Status: 5.0.0"), to, headers)
    return _mail(headers, notice + "\n\n--- original message follows ---\n\n" + returned(to))


def postfix_smtpd(failures: list[Failure]) -> bytes:
    """The smtpd "errors from" notice to postmaster: an In:/Out: transcript."""
    lines = [" Out: 220 mx.mailcast.example ESMTP Postfix", " In:  EHLO client.example"]
    lines += [" Out: 250 mx.mailcast.example", f" In:  MAIL FROM:<{SENDER}>", " Out: 250 2.1.0 Ok"]
    for f in failures:
        lines += [f" In:  RCPT TO:<{f.address}>", f" Out: {f.reply}"]
    lines += [" In:  QUIT", " Out: 221 2.0.0 Bye"]
    headers = (
        "From: MAILER-DAEMON@mx.mailcast.example (Mail Delivery System)\n"
        "To: postmaster@mx.mailcast.example\n"
        "Subject: Postfix SMTP server: errors from client.example[192.0.2.9]\n"
    )
    return _mail(headers, "Transcript of session follows.\n\n" + "\n".join(lines) + "\n")


# Sendmail -----------------------------------------------------------------------------------

_SENDMAIL_VERB = {"RCPT": "RCPT To:<{a}>", "DATA": "DATA", "MAIL": f"MAIL From:<{SENDER}>"}


def _transcript(failures: list[Failure]) -> str:
    lines = ["... while talking to mx.dest.example.:"]
    for f in failures:
        if f.step in _SENDMAIL_VERB:
            lines.append(">>> " + _SENDMAIL_VERB[f.step].format(a=f.address))
        lines.append(f"<<< {f.reply}")
        code = f.reply[:3]
        lines.append(f"{code} {f.status} <{f.address}>... {f.reply[4:].split('... ')[-1]}")
    return "\n".join(lines)


def sendmail(failures: list[Failure]) -> bytes:
    """V8: the transcript, then a status part listing the same recipients."""
    notice = (
        "The original message was received at Fri, 4 Dec 2026 10:00:00 GMT\n"
        "from relay.mailcast.example [192.0.2.1]\n\n"
        "   ----- The following addresses had permanent fatal errors -----\n"
        + "\n".join(f"<{f.address}>" for f in failures)
        + "\n\n   ----- Transcript of session follows -----\n"
        + _transcript(failures)
    )
    headers = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.mailcast.example>\n"
        f"To: {SENDER}\nSubject: Returned mail: see transcript for details\n"
    )
    status = _status_fields(failures, "relay.mailcast.example")
    return _report(notice, status, ", ".join(f.address for f in failures), headers)


def sendmail_v5(failures: list[Failure]) -> bytes:
    """V5: no status part; the transcript is the only list of recipients."""
    body = (
        "   ----- Transcript of session follows -----\n"
        + _transcript(failures).replace("... while talking to", "While talking to")
        + "\n\n   ----- Unsent message follows -----\n"
        + returned(", ".join(f.address for f in failures))
        + "\nHello\n"
    )
    headers = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@old.mailcast.example>\n"
        f"To: {SENDER}\nSubject: Returned mail: User unknown\n"
    )
    return _mail(headers, body)


# Exim ---------------------------------------------------------------------------------------

_EXIM_STEP = {
    "RCPT": "after RCPT TO:<{a}>",
    "DATA": "after end of data",
    "MAIL": f"after MAIL FROM:<{SENDER}> SIZE=2048",
}


def exim(failures: list[Failure]) -> bytes:
    blocks = []
    for f in failures:
        step = _EXIM_STEP.get(f.step, "").format(a=f.address)
        blocks.append(
            f"  {f.address}\n    SMTP error from remote mail server {step}:\n"
            f"    host mx.dest.example [192.0.2.7]: {f.reply}"
        )
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        + "\n\n".join(blocks)
        + "\n\n------ This is a copy of the message, including all the headers. ------\n\n"
        + returned(", ".join(f.address for f in failures))
    )
    headers = (
        "From: Mail Delivery System <Mailer-Daemon@exim.mailcast.example>\n"
        f"To: {SENDER}\nSubject: Mail delivery failed: returning message to sender\n"
        "Message-Id: <E1kLmNo-0001Ab-Cd@exim.mailcast.example>\n"
        f"X-Failed-Recipients: {', '.join(f.address for f in failures)}\n"
    )
    return _mail(headers, body)


# Amazon SES ---------------------------------------------------------------------------------


def amazon_ses(
    failures: list[Failure],
    *,
    wrapped: bool = True,
    kind: str = "Bounce",
    bounce_type: tuple[str, str] = ("Permanent", "General"),
) -> bytes:
    """An SES notification mailed by an SNS e-mail subscription (JSON in the body)."""
    mail = {"messageId": "0100-abc", "source": SENDER, "destination": [f.address for f in failures]}
    if kind == "Bounce":
        inner = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": bounce_type[0],
                "bounceSubType": bounce_type[1],
                "bouncedRecipients": [
                    {
                        "emailAddress": f.address,
                        "action": "failed",
                        "status": f.status,
                        "diagnosticCode": f"smtp; {f.reply}",
                    }
                    for f in failures
                ],
                "reportingMTA": "dsn; a1-2.smtp-out.amazonses.com",
            },
            "mail": mail,
        }
    elif kind == "Complaint":
        inner = {
            "notificationType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": f.address} for f in failures],
                "complaintFeedbackType": "abuse",
            },
            "mail": mail,
        }
    else:
        inner = {
            "notificationType": "Delivery",
            "delivery": {
                "recipients": [f.address for f in failures],
                "smtpResponse": "250 2.6.0 Message received",
            },
            "mail": mail,
        }
    payload = {"Type": "Notification", "Message": json.dumps(inner)} if wrapped else inner
    headers = (
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\n"
        f"To: {SENDER}\nSubject: AWS Notification Message\n"
    )
    return _mail(headers, json.dumps(payload, indent=1) + "\n\n--\nIf you wish to stop receiving\n")


# qmail --------------------------------------------------------------------------------------

_QMAIL_STEP = {
    "RCPT": "192.0.2.5 does not like recipient.",
    "DATA": "192.0.2.5 failed after I sent the message.",
    "MAIL": "Connected to 192.0.2.5 but sender was rejected.",
}


def qmail(failures: list[Failure]) -> bytes:
    """qmail-send: "<address>:" alone, then qmail-remote's words and the remote's reply."""
    blocks = [
        f"<{f.address}>:\n{_QMAIL_STEP.get(f.step, '')}\nRemote host said: {f.reply}\n"
        "Giving up on 192.0.2.5.\n"
        for f in failures
    ]
    body = (
        "Hi. This is the qmail-send program at q.mailcast.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        + "\n".join(blocks)
        + "\n--- Below this line is a copy of the message.\n\n"
        + returned(failures[0].address)
    )
    headers = f"From: MAILER-DAEMON@q.mailcast.example\nTo: {SENDER}\nSubject: failure notice\n"
    return _mail(headers, body)


# Gmail --------------------------------------------------------------------------------------

_GMAIL_STATE = {"RCPT": 14, "DATA": 18, "MAIL": 6}


def gmail(failure: Failure) -> bytes:
    """Gmail's own notice: the address indented, the reply ending in "(state N)"."""
    state = _GMAIL_STATE.get(failure.step, 14)
    body = (
        "This is an automatically generated Delivery Status Notification\n\n"
        "Delivery to the following recipient failed permanently:\n\n"
        f"     {failure.address}\n\n"
        "Technical details of permanent failure:\n"
        "Google tried to deliver your message, but it was rejected by the recipient domain.\n"
        "The error that the other server returned was:\n"
        f"{failure.reply[:3]} {failure.reply} (state {state}).\n\n"
        "   ----- Original message -----\n\n" + returned(failure.address)
    )
    headers = (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        f"To: {SENDER}\nSubject: Delivery Status Notification (Failure)\n"
    )
    return _mail(headers, body)


# Exchange -----------------------------------------------------------------------------------


def exchange(failures: list[Failure], *, codes: list[str]) -> bytes:
    """An Exchange 2007+ NDR: each address alone on its line, then "#reply NDR-code; text ##"."""
    blocks = "".join(
        f"{f.address}\n#{f.reply[:9]} {code}; {f.reply[10:]} ##\n\n"
        for f, code in zip(failures, codes, strict=True)
    )
    body = (
        "Delivery has failed to these recipients or groups:\n\n"
        + "".join(f"{f.address}\n" for f in failures)
        + "\nDiagnostic information for administrators:\n\n"
        + "Generating server: ex.mailcast.example\n\n"
        + blocks
        + "Original message headers:\n\n"
        + returned(failures[0].address)
    )
    headers = (
        f"From: postmaster@ex.mailcast.example\nTo: {SENDER}\n"
        "Subject: Undeliverable: December news\nContent-Language: en-US\n"
    )
    return _mail(headers, body)


# Smaller families ---------------------------------------------------------------------------


def mfilter(failures: list[Failure]) -> bytes:
    body = "以下のメールアドレスへの送信に失敗しました。\n"
    for f in failures:
        body += f"{f.address}\n\n\n-------server message\n{f.reply}\n\n-------SMTP command\n"
        body += f"{f.step or 'RCPT'}\n\n"
    body += "-------original message\n" + returned(failures[0].address)
    headers = (
        "From: MAILER-DAEMON@mf.mailcast.example\n"
        f"To: {SENDER}\nSubject: failure notice\nX-Mailer: m-FILTER\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
    )
    return (headers + "\n" + body).replace("\n", "\r\n").encode("utf-8")


def mcafee(failures: list[Failure]) -> bytes:
    """McAfee's gateway: "<address>   (reply)" lines under "had delivery problems"."""
    lines = "".join(f"<{f.address}>   ({f.reply[4:]})\n" for f in failures)
    body = (
        '--B2\nContent-Type: text/plain; name="deliveryproblems.txt"\n\n'
        f"    --- The following addresses had delivery problems ---\n\n{lines}\n"
        f"--B2\nContent-Type: message/rfc822\n\n{returned(failures[0].address)}\n--B2--\n"
    )
    headers = (
        f"From: <MAILER-DAEMON@gw.mailcast.example>\nTo: {SENDER}\nSubject: Delivery Status\n"
        "X-NAI-Header: Modified by McAfee Email and Web Security Virtual Appliance\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B2"\n'
    )
    return _mail(headers, body)


def james(failures: list[Failure]) -> bytes:
    body = (
        "Hi. This is the James mail server at mx.mailcast.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.  Below\n"
        "I include the list of recipients and the reason why I was unable to deliver\n"
        "your message.\n\nError message below:\n" + failures[0].reply + "\n\n"
        "Message details:\n  Subject: December news\n  Sent date: Fri Dec 04 10:00:00 UTC 2026\n"
        f"  MAIL FROM: {SENDER}\n"
        + "".join(f"  RCPT TO: {f.address}\n" for f in failures)
        + "  From: News <news@mailcast.example>\n  Size (in bytes): 1024\n"
    )
    headers = (
        "From: postmaster@mx.mailcast.example\n"
        f"To: {SENDER}\nSubject: [BOUNCE]\n"
        "Message-ID: <12345.JavaMail.root@mx.mailcast.example>\n"
    )
    return _mail(headers, body)


def fml(members: list[str]) -> bytes:
    body = "".join(
        f"You are not a member of this mailing list <{m}>.\n\n"
        "If you know the general guide of this list, please send mail with the mail body\n\n"
        for m in members
    )
    headers = (
        "From: news-admin@lists.mailcast.example\n"
        f"To: {SENDER}\nSubject: Rejected: are not member (news ML)\n"
        "X-MLServer: fml [fml 4.0]\n"
        "Message-Id: <202612041000.FMLAAB1.news@lists.mailcast.example>\n"
    )
    return _mail(headers, body + "Original mail as follows:\n\n" + returned(members[0]))


def x1(failures: list[Failure]) -> bytes:
    body = (
        "The original message was received at Fri, 04 Dec 2026 10:00:00 +0000\n"
        f"from {SENDER}\n\n---The following addresses had delivery errors---\n\n"
        + "".join(f"{f.address} [{f.reply[4:]}]\n" for f in failures)
        + "\n--- original message follows ---\n"
        + returned(failures[0].address)
    )
    headers = f'From: "Mail Delivery System" <MAILER-DAEMON@x1.example>\nTo: {SENDER}\n'
    return _mail(headers + "Subject: Returned Mail: Error During Delivery\n", body)


def x2(failures: list[Failure]) -> bytes:
    body = (
        "Message from x2.example.\nUnable to deliver message to the following address(es).\n\n"
        + "".join(f"<{f.address}>:\n{f.reply}\n\n" for f in failures)
        + "--- Original message follows.\n\n"
        + returned(failures[0].address)
    )
    headers = f"From: MAILER-DAEMON@x2.example\nTo: {SENDER}\nSubject: Delivery failure\n"
    return _mail(headers, body)


def x3(failures: list[Failure]) -> bytes:
    rule = "=" * 76
    body = (
        f"{rule}\n      This is an automatically generated Delivery Status Notification.\n\n"
        "Delivery to the following recipients failed permanently:\n\n"
        + "".join(f"  * {f.address}\n" for f in failures)
        + f"\n\n{rule}\n                            Technical details:\n\n"
        + "".join(f"SMTP:{f.step or 'RCPT'} host 192.0.2.8: {f.reply}\n" for f in failures)
        + f"\n\n{rule}\n"
    )
    headers = (
        f"From: Mail Delivery System <MAILER-DAEMON@x3.example>\nTo: {SENDER}\n"
        "Subject: Delivery status notification\n"
    )
    return _mail(headers, body + "\n" + returned(failures[0].address))


def arf(recipients: list[str]) -> bytes:
    """An RFC 5965 report repeating Original-Rcpt-To, once per complaining recipient."""
    fields = "".join(f"Original-Rcpt-To: <{r}>\n" for r in recipients)
    body = (
        "--B1\nContent-Type: text/plain\n\nThis is an email abuse report.\n\n"
        "--B1\nContent-Type: message/feedback-report\n\n"
        "Feedback-Type: abuse\nUser-Agent: Reporter/1.0\nVersion: 1\n"
        f"Original-Mail-From: <{SENDER}>\n{fields}\n"
        f"--B1\nContent-Type: text/rfc822-headers\n\n{returned(recipients[0])}\n--B1--\n"
    )
    headers = (
        f"From: abuse@isp.example\nTo: {SENDER}\nSubject: Abuse report\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="B1"\n'
    )
    return _mail(headers, body)
