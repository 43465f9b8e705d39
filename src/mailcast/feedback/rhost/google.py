"""Google (Gmail, Workspace): its documented SMTP replies, as sisimai's Rhost::Google."""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.model import Finding
from mailcast.feedback.rhost.common import Receiver, table

# Google words some replies alike under different codes; its status tells them apart.
# (status, phrase, reason), tried before the table.
_BY_STATUS = (
    # Over the per-message size limit of the recipient (5.2.3) or of the system (5.3.4).
    ("5.2.3", "exceeded google's message size limit", Reason.EXCEED_LIMIT),
    # "<address> is not a valid RFC 5321 address": the sender's (5.1.7), the recipient's (5.1.3).
    ("5.1.7", "is not a valid rfc 5321 address", Reason.NOT_COMPLIANT_RFC),
    ("5.1.3", "is not a valid rfc 5321 address", Reason.USER_UNKNOWN),
    # A malformed command or its arguments ("Syntax error, cannot decode response").
    ("5.5.2", "syntax error", Reason.SYNTAX_ERROR),
    ("5.7.11", "syntax error", Reason.SYNTAX_ERROR),
)


def _by_status(finding: Finding) -> str:
    text = finding.diagnostic.lower()
    return next(
        (
            reason
            for status, phrase, reason in _BY_STATUS
            if finding.status == status and phrase in text
        ),
        "",
    )


GOOGLE = Receiver(
    "google",
    ("gmail.com", "googlemail.com", "google.com", ".l.google.com"),
    table(
        (Reason.USER_UNKNOWN, r"email account that you tried to reach does not exist"),
        (Reason.SUSPEND, r"account that you tried to reach is (?:disabled|inactive)"),
        (
            Reason.MAILBOX_FULL,
            r"out of storage space|account that you tried to reach is over quota",
        ),
        (
            Reason.AUTH_FAILURE,
            r"senders to authenticate|dmarc policy|fails to pass spf|hard fail policy"
            r"|fails to pass authentication checks|spf record of the sending domain",
        ),
        (Reason.BAD_REPUTATION, r"very low reputation of the sending"),
        (
            Reason.BLOCKED,
            r"unusual rate of unsolicited mail|ip not in whitelist|helo/ehlo argument",
        ),
        (Reason.FAILED_STARTTLS, r"must issue a starttls command|tls required for rcpt domain"),
        # Too many attachments or too large a header: a limit, not the message's size.
        (
            Reason.EXCEED_LIMIT,
            r"exceeds google'?s limit of \S{1,20} attachments|google'?s message header size limit"
            r"|bytes per individual header size|exceeds google'?s header name limit",
        ),
        (
            Reason.MESG_TOO_BIG,
            r"exceeded google'?s message size limit|exceeds google'?s message size",
        ),
        (Reason.NETWORK_ERROR, r"message exceeded \d+ hops"),
        (Reason.NO_RELAYING, r"mail relay denied|invalid credentials for relay"),
        (
            Reason.NOT_COMPLIANT_RFC,
            r"not rfc ?5322 compliant|multiple (?:from|to|subject|date) headers",
        ),
        (
            Reason.SPEEDING,
            r"receiving mail (?:at a rate|too quickly)"
            r"|rate that prevents additional messages from being delivered",
        ),
        (Reason.SPAM_DETECTED, r"likely unsolicited mail|has been blocked because .{0,40}spam"),
        (Reason.POLICY_VIOLATION, r"content presents a potential"),
        (Reason.SYSTEM_ERROR, r"temporary system problem"),
        # The rest of Google's "About SMTP error messages" list (sisimai's Rhost::Google).
        (Reason.AUTH_FAILURE, r"aligned with either the authenticated spf or dkim"),
        (Reason.BLOCKED, r"an unusual rate of mail|try again later, closing connection"),
        (Reason.EXPIRED, r"connection expired|timeout - closing connection"),
        (Reason.FAILED_STARTTLS, r"senders to use tls/ssl|starttls may not be repeated"),
        (Reason.MAILBOX_FULL, r"email quota exceeded"),
        (Reason.NO_RELAYING, r"not authorized to send email directly to our servers"),
        (
            Reason.NOT_COMPLIANT_RFC,
            r"missing a valid (?:address in the from: header|message-id: header)"
            r"|multiple addresses in from: header|unicode character in a disallowed header"
            r"|encoded-word syntax is not permitted|mail message is malformed"
            r"|sender address \S{0,255} ?is not a valid rfc 5321 address",
        ),
        (
            Reason.POLICY_VIOLATION,
            r"illegal attachment on your message|has a policy that prohibited"
            r"|sending messages with the same message-id",
        ),
        (Reason.REJECTED, r"mail sending denied|unauthenticated email is not accepted"),
        (
            Reason.REQUIRE_PTR,
            r"does not have a ptr record|have a ptr record, or the ptr record"
            r"|ipv6 sending guidelines regarding ptr|does not match the ip address of the hostname",
        ),
        (
            Reason.SECURITY_ERROR,
            r"too many login attempts|no identity changes permitted|authentication required\."
            r"|application-specific password required|please log in (?:with|through) your web"
            r"|username and password not accepted",
        ),
        (Reason.SPAM_DETECTED, r"nature of the content or the links within"),
        (
            Reason.SPEEDING,
            r"peak smtp relay limit exceeded|daily (?:sending quota|user sending limit) exceeded"
            r"|daily smtp relay (?:sending )?limit exceeded|this mail has been rate limited",
        ),
        (
            Reason.SYNTAX_ERROR,
            r"smtp protocol violation|optional argument not permitted|bad sequence of commands"
            r"|unrecognized command|unimplemented command|ehlo/helo first|(?:mail|rcpt) first"
            r"|no data after bdat|unrecognized authentication type|too many unauthenticated"
            r"|xoauth is no longer supported",
        ),
        (
            Reason.SYSTEM_ERROR,
            r"server busy|multiple destination domains per transaction"
            r"|mail server (?:has )?temporarily rejected|domain policy size per transaction",
        ),
        (
            Reason.TOO_MANY_CONN,
            r"your message has too many recipients|too many recipients for this sender",
        ),
        (
            Reason.USER_UNKNOWN,
            r"weren'?t able to find the recipient domain"
            r"|recipient address \S{0,255} ?is not a valid rfc 5321 address",
        ),
    ),
    re.compile(r"\bgsmtp\b|support\.google\.com/mail", re.I),
    decide=_by_status,
)
