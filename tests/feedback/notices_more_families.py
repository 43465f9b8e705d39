"""Test notices of sisimai's smaller families (gateways, portals, qmail clones), each its layout.

Same conventions as `notices`: a builder takes `Failure`s and writes the notice as that
software does; `own(address, text, reason)` (from `notices_more`) makes a failure told in the
reporting software's own words. Addresses, hosts and wording are our own; the layouts follow
the markers each family's reader in sisimai looks for.
"""

from __future__ import annotations

from notices import SENDER, Failure, _mail, _report, _status_fields, returned


def _to(failures: list[Failure]) -> str:
    return ", ".join(f.address for f in failures)


def _multipart(headers: str, text: str, tail: str, tail_type: str = "message/rfc822") -> bytes:
    """A text part and the returned message (or its headers) after it."""
    body = (
        "This is a MIME-encapsulated message.\n\n--B1\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        f"{text}\n\n--B1\nContent-Type: {tail_type}\n\n{tail}\n--B1--\n"
    )
    return _mail(
        headers + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B1"\n', body
    )


# TransWARE Active!hunter --------------------------------------------------------------------


def activehunter(failures: list[Failure]) -> bytes:
    blocks = "\n".join(
        f">>> {f.address} <{f.address}>\n\n  ----- Transcript of session follows -----\n{f.reply}\n"
        for f in failures
    )
    text = f"  ----- The following addresses had permanent fatal errors -----\n\n{blocks}"
    headers = (
        'From: "MAILER-DAEMON" <postmaster@ah.mailcast.example>\n'
        f"To: {SENDER}\nSubject: FAILURE NOTICE : December news\nX-AHMailID: 0000000123\n"
    )
    return _multipart(headers, text, returned(_to(failures)))


# Bigfoot ------------------------------------------------------------------------------------


def bigfoot(failures: list[Failure], command: str = "RCPT") -> bytes:
    """A transcript naming the step once, then RFC 3464 fields for every recipient."""
    first = failures[0]
    verb = {"RCPT": f"RCPT TO:<{first.address}>", "DATA": "DATA", "MAIL": "MAIL FROM:<x@y.z>"}
    notice = (
        "The original message was received at Tue, 1 Dec 2026 10:00:00 GMT\n"
        "from relay.mailcast.example [192.0.2.10]\n\n"
        "   ----- Transcript of session follows -----\n"
        f">>> {verb[command]}\n<<< {first.reply}\n"
    )
    status = _status_fields(failures, "mx.bigfoot.com")
    body = (
        "This is a MIME-encapsulated message.\n\n--B0\n"
        f"Content-Type: text/plain; charset=us-ascii\n\n{notice}\n--B0\n"
        f"Content-Type: message/delivery-status\n\n{status}\n--B0\n"
        f"Content-Type: message/partial\n\n{returned(_to(failures))}\n--B0--\n"
    )
    headers = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.bigfoot.com>\n"
        "Received: from relay.mailcast.example by mx.bigfoot.com (8.9/8.9) id a1;\n"
        f" Tue, 1 Dec 2026 10:00:01 GMT\nTo: {SENDER}\n"
        "Subject: Returned mail: Recipient problem\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B0"\n'
    )
    return _mail(headers, body)


# BIGLOBE ------------------------------------------------------------------------------------


def biglobe(address: str, reason_text: str) -> bytes:
    text = (
        "   ----- The following addresses had delivery problems -----\n"
        f"{address}\n\n   ----- Non-delivered information -----\n{reason_text}\n"
    )
    headers = (
        f"From: postmaster@biglobe.ne.jp\nTo: {SENDER}\nSubject: Returned mail: Delivery failed\n"
    )
    return _multipart(headers, text, returned(address))


# IBM Domino ---------------------------------------------------------------------------------


def domino(failures: list[Failure], *, with_status: bool = False) -> bytes:
    blocks = "\n".join(
        f"was not delivered to:\n\n  {f.address}\n\nbecause:\n\n  {f.reply}\n" for f in failures
    )
    notice = f"Your message\n\n  Subject: December news\n\n{blocks}"
    headers = (
        "From: Postmaster <postmaster@domino.mailcast.example>\n"
        f"To: {SENDER}\nSubject: DELIVERY FAILURE: User not listed in Domino Directory\n"
    )
    if with_status:
        return _report(notice, _status_fields(failures, "domino.mailcast.example"), "", headers)
    return _multipart(headers, notice, returned(_to(failures)))


# 1&1 (EinsUndEins) and GMX: one notice layout -----------------------------------------------

_HEADER_LINE = "--- The header of the original message is following. ---"


def einsundeins(failures: list[Failure]) -> bytes:
    blocks = "\n".join(f"{f.address}\n\nFor the following reason:\n\n{f.reply}\n" for f in failures)
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of\n"
        "its recipients. This is a permanent error. The following address failed:\n\n"
        f"{blocks}\n{_HEADER_LINE}\n\n" + returned(_to(failures))
    )
    headers = (
        'From: "Mail Delivery System" <mailer-daemon@kundenserver.example>\n'
        f"To: {SENDER}\nSubject: Mail delivery failed: returning message to sender\n"
    )
    return _mail(headers, body)


def gmx(failures: list[Failure]) -> bytes:
    """Each recipient quoted; a remote refusal names its step and host, GMX's own says Reason:."""
    blocks = []
    for f in failures:
        if f.step:
            blocks.append(
                f'"{f.address}":\nSMTP error from remote server after {f.step} command:\n'
                f"host: mx.dest.example\n{f.reply}\n"
            )
        else:
            blocks.append(f"<{f.address}>\n\nReason:\n{f.reply}\n")
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of\n"
        "its recipients. This is a permanent error. The following address\nfailed:\n\n"
        + "\n".join(blocks)
        + f"\n{_HEADER_LINE}\n\n"
        + returned(_to(failures))
    )
    headers = (
        "From: Mail Delivery System <mailer-daemon@gmx.net>\n"
        f"To: {SENDER}\nSubject: Mail delivery failed: returning message to sender\n"
        "X-GMX-Antispam: 0 (Mail was not recognized as spam); Detail=V3;\n"
        "X-UI-Out-Filterresults: unknown:0;\n"
    )
    return _mail(headers, body)


# MailFoundry --------------------------------------------------------------------------------


def mailfoundry(failures: list[Failure]) -> bytes:
    blocks = "\n".join(
        f"Unable to deliver message to: <{f.address}>\n"
        "Delivery failed for the following reason:\n"
        f"Server mx.dest.example[192.0.2.25] failed with: {f.reply}\n\n"
        "This has been a permanent failure.  No further delivery attempts will be made.\n"
        for f in failures
    )
    headers = (
        "From: MAILER-DAEMON@gw.mailcast.example\n"
        "Received: from gw.mailcast.example (MAILFOUNDRY) id 0a1b2c3d;\n"
        f" Tue, 1 Dec 2026 10:00:00 GMT\nTo: {SENDER}\nSubject: Message delivery has failed\n"
    )
    return _multipart(headers, blocks, returned(_to(failures)))


# SurfControl E-mail Filter ------------------------------------------------------------------


def surfcontrol(failures: list[Failure]) -> bytes:
    blocks = "\n".join(
        f"Addressed To: {f.address}\n\nTue 01 Dec 2026 10:00:00 +0000\n"
        "Failed to send to identified host,\n"
        f"{f.address}: [192.0.2.5], {f.reply}\n--- Message non-deliverable.\n"
        for f in failures
    )
    text = (
        "Your message could not be sent.\n"
        "A transcript of the attempts to send the message follows.\n"
        f"The number of attempts made: 1\n{blocks}"
    )
    headers = (
        "From: postmaster@filter.mailcast.example\n"
        f"To: {SENDER}\nSubject: Delivery failure\n"
        "X-SEF-Processed: 7_3_0_01181__2026_12_01_10_00_00\n"
        "X-Mailer: SurfControl E-mail Filter\n"
    )
    return _multipart(headers, text, returned(_to(failures)))


# An unnamed qmail clone (sisimai's X4) ------------------------------------------------------

_X4_INTRO = (
    "Unable to deliver message to the following address(es).",
    "Your message to the following addresses could not be delivered.",
    "This is the mail delivery agent at mx.mailcast.example.",
)


def x4(failures: list[Failure], intro: int = 0) -> bytes:
    """qmail-remote's words ("does not like recipient") for refusals at RCPT, else the reply."""
    blocks = []
    for f in failures:
        said = f"Remote host said: {f.reply}" if f.reply[:1].isdigit() else f.reply
        if f.step == "RCPT":
            blocks.append(f"<{f.address}>:\n192.0.2.9 does not like recipient.\n{said}\n")
        elif f.step == "DATA":
            blocks.append(f"<{f.address}>:\n192.0.2.9 failed after I sent the message.\n{said}\n")
        else:
            blocks.append(f"<{f.address}>:\n{said}\n")
    body = (
        f"{_X4_INTRO[intro % len(_X4_INTRO)]}\n\n"
        + "\n".join(blocks)
        + "\n--- Below this line is a copy of the message.\n\n"
        + returned(_to(failures))
    )
    headers = (
        "From: Mail Delivery Agent <postmaster@mx.mailcast.example>\n"
        "Received: (qmail 4242 invoked for bounce); 1 Dec 2026 10:00:00 -0000\n"
        f"To: {SENDER}\nSubject: failure notice\n"
    )
    return _mail(headers, body)


# MX Logic (McAfee SaaS) ---------------------------------------------------------------------


def mxlogic(failures: list[Failure]) -> bytes:
    lines = "\n".join(f"  <{f.address}>: {f.reply}" for f in failures)
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"{lines}\n\nIncluded is a copy of the message header:\n"
        "-----------------------------------------\n" + returned(_to(failures))
    )
    headers = (
        "From: Mail Delivery System <MAILER-DAEMON@mxlogic.example>\n"
        f"To: {SENDER}\nSubject: Mail delivery failed: returning message to sender\n"
        "X-MX-Bounce: mta/src/queue/bounce\n"
        "X-MXL-Hash: 0123456789abcdef-0123456789abcdef0123456789abcdef01234567\n"
    )
    return _mail(headers, body)


# MessageLabs (Symantec.cloud) ---------------------------------------------------------------


def messagelabs(failures: list[Failure]) -> bytes:
    notice = "Delivery has failed to these recipients or distribution lists:\n\n" + "\n".join(
        f"{f.address}\n" for f in failures
    )
    headers = (
        "From: MAILER-DAEMON@messagelabs.com\n"
        f"To: {SENDER}\nSubject: Mail Delivery Failure\n"
        "X-Msg-Ref: server-3.tower-7.messagelabs.com!1700000000!123!1\n"
    )
    status = _status_fields(failures, "server-3.tower-7.messagelabs.com")
    return _report(notice, status, _to(failures), headers)


# Facebook -----------------------------------------------------------------------------------


def facebook(failures: list[Failure]) -> bytes:
    notice = (
        "This message was created automatically by Facebook.\n\n"
        "Your message could not be delivered to one or more recipients.\n"
    )
    headers = (
        "From: Facebook <mailer-daemon@mx.facebook.com>\n"
        f"To: {SENDER}\nSubject: Sorry, your message could not be delivered\n"
    )
    status = _status_fields(failures, "mx.facebook.com")
    return _report(notice, status, _to(failures), headers)


# Barracuda ----------------------------------------------------------------------------------


def barracuda(failures: list[Failure]) -> bytes:
    notice = (
        f"Your message to: {_to(failures)}\n"
        "was blocked by our Spam Firewall. The email you sent with the following subject\n"
        "has NOT BEEN DELIVERED:\n\nSubject: December news\n"
    )
    headers = (
        "From: Barracuda <postmaster@spamgw.dest.example>\n"
        f"To: {SENDER}\nSubject: **Message you sent blocked by our bulk email filter**\n"
    )
    status = _status_fields(failures, "spamgw.dest.example")
    return _report(notice, status, _to(failures), headers)


# Trend Micro InterScan MSS ------------------------------------------------------------------


def interscan(failures: list[Failure]) -> bytes:
    """The SMTP exchange quoted line by line, the step and the reply of every recipient."""
    verb = {"RCPT": "RCPT TO:<{a}>", "DATA": "DATA", "MAIL": "MAIL FROM:<x@y.z>"}
    lines = []
    for f in failures:
        lines.append(f"Sent <<< {verb[f.step].format(a=f.address)}")
        lines.append(f"Received >>> {f.reply} <{f.address}>")
    text = "Mail could not be delivered to one or more recipients.\n\n" + "\n".join(lines)
    headers = (
        'From: "InterScan MSS" <postmaster@imss.mailcast.example>\n'
        f"To: {SENDER}\nSubject: Mail could not be delivered\n"
    )
    return _multipart(headers, text, returned(_to(failures)))


# amavisd-new --------------------------------------------------------------------------------


def amavis(failures: list[Failure]) -> bytes:
    notice = (
        "The message WAS NOT relayed to:\n"
        + "\n".join(f"<{f.address}>:\n   {f.reply}" for f in failures)
        + "\n"
    )
    headers = (
        'From: "Content-filter at mx.mailcast.example" <postmaster@mx.mailcast.example>\n'
        f"To: {SENDER}\nSubject: Undeliverable mail, MTA-BLOCKED\n"
    )
    status = _status_fields(failures, "mx.mailcast.example")
    return _report(notice, status, _to(failures), headers)


# Smail 3 as Deutsche Telekom runs it --------------------------------------------------------

_SMAIL_RULE = "|------------------------- {} -------------------------|"


def smail(failures: list[Failure], *, bracketed: bool = True) -> bytes:
    """`bracketed`: T-Online's " <address>" then the reply; else Smail's " address ... failed:"."""
    if bracketed:
        lines = "\n".join(f" <{f.address}>\n   {f.reply}" for f in failures)
    else:
        lines = "\n".join(f" {f.address} ... failed: {f.reply}" for f in failures)
    body = (
        "Your message could not be delivered.\n\n"
        f"{_SMAIL_RULE.format('Failed addresses follow:')}\n{lines}\n\n"
        f"{_SMAIL_RULE.format('Message header follows:')}\n" + returned(_to(failures))
    )
    headers = (
        "From: Mail Delivery System <Mailer-Daemon@t-online.de>\n"
        f"To: {SENDER}\nSubject: mail failed, returning to sender\n"
        "X-TOI-MSGID: 0b6f2a1e-1111-2222-3333-444455556666\n"
    )
    return _mail(headers, body)


# AOL (its own MTA, an RFC 3464 report) ------------------------------------------------------


def aol(failures: list[Failure]) -> bytes:
    notice = "Your message could not be delivered to the following recipients.\n"
    headers = (
        "From: Mail Delivery System <MAILER-DAEMON@aol.com>\n"
        f"To: {SENDER}\nSubject: Undelivered Mail Returned to Sender\nX-AOL-IP: 192.0.2.135\n"
    )
    status = _status_fields(failures, "omr-m1.mx.aol.com")
    return _report(notice, status, _to(failures), headers)


# SendGrid -----------------------------------------------------------------------------------


def sendgrid(failures: list[Failure]) -> bytes:
    """The reply in the text with "in RCPT TO" after it; the fields carry no step."""
    lines = "\n".join(
        f"acct:000000:<{f.address}> : 192.0.2.250 : mx.dest.example:[192.0.2.153] :\n"
        f"  {f.reply}  in RCPT TO"
        for f in failures
    )
    notice = (
        "This is an automatically generated message from SendGrid.\n\n"
        "I'm sorry to have to tell you that your message was not able to be\n"
        f"delivered to one of its intended recipients.\n\n{lines}\n"
    )
    headers = (
        "Return-Path: <apps@sendgrid.net>\nFrom: MAILER-DAEMON\n"
        f"To: {SENDER}\nSubject: Undelivered Mail Returned to Sender\n"
    )
    status = _status_fields(failures, "sendgrid.net")
    return _report(notice, status, _to(failures), headers)


# Mimecast -----------------------------------------------------------------------------------


def mimecast(failures: list[Failure]) -> bytes:
    """Each address after "-- ", the problem and the remote reply on "-- " lines of their own."""
    blocks = "\n".join(
        "An email that you attempted to send to the following address could not be "
        f"delivered:\n-- {f.address}\n\nThe problem appears to be :\n"
        f"-- Recipient email address is possibly incorrect\n\n"
        f"Additional information follows :\n-- {f.reply}\n"
        for f in failures
    )
    headers = (
        "From: Postmaster <postmaster@mimecast.example>\n"
        f"To: {SENDER}\nSubject: [Postmaster] Email Delivery Failure\n"
        "Message-ID: <0123456789-1700000000000@us-mta-25.us.mimecast.lan>\n"
    )
    return _multipart(headers, blocks, returned(_to(failures)), "text/rfc822-headers")


# G Suite / Google Workspace relaying to another host ----------------------------------------


def gsuite(failure: Failure, *, with_status: bool = True) -> bytes:
    """Gmail's "** ... **" notice; `with_status` False: no fields, the To: names the recipient."""
    notice = (
        "** Address not found **\n\n"
        f"Your message wasn't delivered to {failure.address} because the address couldn't "
        "be found.\nCheck for typos or unnecessary spaces and try again.\n\n"
        f"The response from the remote server was:\n{failure.reply}\n"
    )
    headers = (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        f"To: {SENDER}\nSubject: Delivery Status Notification (Failure)\n"
        "X-Gm-Message-State: AOJu0Yw0000000000000000000000000000000\n"
    )
    if with_status:
        status = _status_fields([failure], "relay.mailcast.example")
        return _report(notice, status, failure.address, headers)
    return _multipart(headers, notice, returned(failure.address), "text/rfc822-headers")
