"""Big receivers' own replies: Google, Microsoft, Yahoo, Apple word their refusals their way.

A receiver is known by the recipient's domain or by the host that answered. Each table maps
phrases of that receiver's documented replies (its postmaster pages and SMTP error lists) to
the reason they name; a phrase found in the recipient's diagnostic is the reason, whatever
the SMTP step or status code would suggest (Yahoo answers an unknown user at DATA, say).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.model import Finding

_HOST = re.compile(
    r"(?:host|while talking to|remote host|server)\s{1,20}"
    r"\[?([a-z0-9][a-z0-9.-]{2,250}\.[a-z]{2,24})",
    re.I,
)


@dataclass(frozen=True)
class Receiver:
    name: str
    domains: tuple[str, ...]  # recipient domains and host suffixes
    replies: tuple[tuple[str, re.Pattern[str]], ...]
    # What only this receiver writes in its replies (its reply trailer, its help pages), for a
    # reply relayed by a host the notice does not name.
    signature: re.Pattern[str] | None = None
    # How a filtering gateway in front of the recipient's domain signs the notices it writes
    # itself: the reply it passes on is then read with its table.
    gateway: re.Pattern[str] | None = None


def _table(*rows: tuple[str, str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((reason, re.compile(phrase, re.I)) for reason, phrase in rows)


GOOGLE = Receiver(
    "google",
    ("gmail.com", "googlemail.com", "google.com", ".l.google.com"),
    _table(
        (Reason.USER_UNKNOWN, r"email account that you tried to reach does not exist"),
        (Reason.SUSPEND, r"email account that you tried to reach is (?:disabled|inactive)"),
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
        (Reason.SPEEDING, r"receiving mail (?:at a rate|too quickly)"),
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
            r"illegal attachment on your message|has a policy that prohibited the mail"
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
            r"|no data after bdat|unrecognized authentication type|too many unauthenticated",
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
)
MICROSOFT = Receiver(
    "microsoft",
    (
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        ".protection.outlook.com",
        ".prod.outlook.com",
        ".onmicrosoft.com",
        ".exchangelabs.com",
    ),
    # Exchange Online's documented NDR texts (5.7.5xx access denials, 4.7.5xx throttling...).
    _table(
        (
            Reason.AUTH_FAILURE,
            r"must pass either spf or dkim|sender policy framework violation"
            r"|does not pass dmarc|meet the required authentication level",
        ),
        (Reason.BAD_REPUTATION, r"rate limited due to ip reputation"),
        (
            Reason.SUSPEND,
            # Said with 5.7.504/505; with 5.4.1 the same words mean an unknown address.
            r"5\.7\.50[45]\b.{0,100}(?:recipient address rejected: access denied|banned recipient)"
            r"|mailbox cannot be accessed",
        ),
        (
            Reason.REJECTED,
            r"unknown sender address|sender denied|bad outbound sender|delivery not authorized"
            r"|not authenticated by organization|not in allowed-senders list"
            r"|not authenticated for (?:group|mailbox|public folder)|spam abuse detected"
            r"|5322 section 3\.6\.2 compliant|blocked from sending from unregistered domains",
        ),
        (
            Reason.BLOCKED,
            r"banned sending ip|banned sender|access denied, please try again later|bad helo"
            r"|rejected by recipient|does not accept email over ipv6|customer block list"
            r"|on our block list|must have a reverse dns record",
        ),
        (
            Reason.SPEEDING,
            r"exceeded the maximum number of connections|daily limit for message recipients"
            r"|submission quota exceeded|per hour message receive limit|permitted limits within"
            r"|tenant has exceeded threshold|traffic not accepted from this ip"
            r"|recipient thread limit exceeded",
        ),
        (Reason.MAILBOX_FULL, r"mailbox full"),
        (
            Reason.USER_UNKNOWN,
            r"recipientnotfound|recipnotfound|invalid recipient address"
            r"|recipient address rejected: access denied",
        ),
        (
            Reason.FAILED_STARTTLS,
            r"mta-sts validation|starttls is required to send mail|starttls-not-supported"
            r"|certificate-expired|tlsa-invalid|dnssec-invalid|certificate-host-mismatch",
        ),
        (Reason.NO_RELAYING, r"unable to relay|relay access denied"),
        (Reason.NETWORK_ERROR, r"hop count exceeded|dns query failed|routing loop detected"),
        (Reason.EXPIRED, r"message expired|queue expired|message delayed"),
        (
            Reason.CONTENT_ERROR,
            r"too many related errors|invalid characters|message depth exceeded"
            r"|invalid message content",
        ),
        (Reason.POLICY_VIOLATION, r"x-dg-ref header is too long|policy violation detected"),
        (Reason.SPAM_DETECTED, r"content filter agent quarantined"),
        (
            Reason.SYSTEM_ERROR,
            r"server busy\. please try again later|pfa agent busy|failed to be replicated"
            r"|suspiciousremoteservererror|system incorrectly configured",
        ),
    ),
    re.compile(r"\.protection\.outlook\.com\b|\.prod\.outlook\.com\b|sender\.office\.com", re.I),
)
YAHOO = Receiver(
    "yahoo",
    ("yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr", ".yahoodns.net"),
    _table(
        (Reason.USER_UNKNOWN, r"dd this user doesn'?t have a|mailbox not found"),
        (Reason.SUSPEND, r"is no longer valid|this mailbox is disabled"),
        (Reason.AUTH_FAILURE, r"requires all senders to authenticate"),
        (Reason.BLOCKED, r"ip is in spamhaus|ip addresses on spamhaus"),
        (Reason.NO_RELAYING, r"relaying denied for"),
        (Reason.NOT_COMPLIANT_RFC, r"headers are not rfc compliant"),
        (Reason.POLICY_VIOLATION, r"not accepted for policy reasons"),
        (Reason.REJECTED, r"unresolvable rfc\.?5321|will be permanently deferred"),
        (Reason.SPEEDING, r"receiving mail too quickly"),
        (Reason.TOO_MANY_CONN, r"max message per connection"),
        (Reason.SYNTAX_ERROR, r"syntax error in parameters or arguments"),
    ),
    # "dd" opens Yahoo's delivery errors ("554 delivery error: dd ... is no longer valid").
    re.compile(
        r"postmaster\.yahoo(?:inc)?\.com|senders\.yahooinc\.com|\.yahoodns\.net"
        r"|delivery error: dd ",
        re.I,
    ),
)
APPLE = Receiver(
    "apple",
    ("icloud.com", "me.com", "mac.com", ".mail.icloud.com", ".apple.com"),
    _table(
        (Reason.AUTH_FAILURE, r"'?s dmarc policy|failing both spf and dkim"),
        (
            Reason.BLOCKED,
            r"listing in spamhaus|present in the spamhaus|blocked - see https?://"
            r"|not accepting connections",
        ),
        (Reason.HAS_MOVED, r"recipient no longer on server"),
        (Reason.MAILBOX_FULL, r"user is over quota"),
        (Reason.NO_RELAYING, r"relay access denied"),
        (Reason.NOT_ACCEPT, r"host/domain does not accept mail"),
        (Reason.POLICY_VIOLATION, r"due to local policy"),
        (Reason.REJECTED, r"sender address rejected"),
        (Reason.SPEEDING, r"due to excessive volume"),
        (
            Reason.USER_UNKNOWN,
            r"inactive email address|user does not exist|unknown or illegal alias",
        ),
    ),
)
KDDI = Receiver(
    "kddi",
    ("ezweb.ne.jp", "au.com", ".ezweb.ne.jp"),
    _table(
        # au answers "550 : User unknown" (no mailbox named) for its users' reception filters.
        (Reason.FILTERED, r"550 : user unknown"),
        (Reason.USER_UNKNOWN, r">: user unknown"),
    ),
)
TENCENT = Receiver(
    "tencent",
    ("qq.com", "foxmail.com", ".qq.com"),
    # Tencent's reply list (service.mail.qq.com/detail/122), as sisimai's Rhost::Tencent.
    _table(
        (Reason.AUTH_FAILURE, r"(?:spf|dmarc) check failed"),
        (
            Reason.BLOCKED,
            r"suspected bounce attacks|suspected spam ip|connection denied",
        ),
        (Reason.MESG_TOO_BIG, r"message too large"),
        (Reason.TOO_MANY_CONN, r"(?:ip|domain|sender|connection) frequency limited"),
        (Reason.SPAM_DETECTED, r"spam is embedded in the email|mail content denied"),
        (Reason.REJECTED, r"suspected spam|mail is rejected by recipients"),
        (Reason.SUSPEND, r"is a deactivated mailbox"),
        (Reason.SYNTAX_ERROR, r"bad address syntax"),
        (Reason.USER_UNKNOWN, r"mailbox not found"),
    ),
    re.compile(r"service\.mail\.qq\.com", re.I),
)
GODADDY = Receiver(
    "godaddy",
    ("secureserver.net", ".secureserver.net"),
    # GoDaddy's bounce-back messages (sisimai's Rhost::GoDaddy); its "IBnnn" codes are read
    # with the other providers' codes (providers.py).
    _table(
        (Reason.BLOCKED, r"rbl reject|spamhaus\.org/query/bl\?ip="),
        (Reason.EXPIRED, r"has been in the queue too long|delivery timeout"),
        (Reason.MAILBOX_FULL, r"account storage limit"),
        (Reason.SPAM_DETECTED, r"message rejected for spam or virus content"),
        (Reason.SUSPEND, r"account disabled"),
        (Reason.SYSTEM_ERROR, r"message is looping"),
        (Reason.USER_UNKNOWN, r"recipient not found|account does not exist"),
    ),
)
MIMECAST = Receiver(
    "mimecast",
    ("mimecast.com", ".mimecast.com", "mimecast.co.za", ".mimecast.co.za"),
    # Mimecast's SMTP error codes page, as sisimai's Rhost::Mimecast.
    _table(
        (Reason.AUTH_FAILURE, r"(?:spf|dkim|dmarc) sender invalid - envelope rejected"),
        (
            Reason.BAD_REPUTATION,
            r"internal resources are temporarily unavailable|local ct ip reputation",
        ),
        (
            Reason.BLOCKED,
            r"sender address blocked|recipient temporarily unavailable|ip temporarily blacklisted",
        ),
        (Reason.MESG_TOO_BIG, r"maximum email size exceeded"),
        (Reason.NETWORK_ERROR, r"mail loop detected"),
        (Reason.NO_RELAYING, r"open relay not allowed"),
        (Reason.NOT_ACCEPT, r"account inbounds disabled"),
        (
            Reason.POLICY_VIOLATION,
            r"anti-spoofing policy|content examination policy|host network not allowed",
        ),
        (
            Reason.REJECTED,
            r"administrative prohibition envelope blocked|envelope blocked|manually blocked"
            r"|blocked senders|block policy for envelope from",
        ),
        (
            Reason.SECURITY_ERROR,
            r"incorrect authentication data|this route requires (?:encryption|tls|high-strength)"
            r"|configuration is invalid for this certificate",
        ),
        (
            Reason.SYSTEM_ERROR,
            r"unable to process (?:connection|command|an email)|message ended early",
        ),
        (
            Reason.TOO_MANY_CONN,
            r"account service is temporarily unavailable|too many recipients"
            r"|exceeding outbound thread limit",
        ),
        (Reason.USER_UNKNOWN, r"invalid address|user unknown|invalid recipient"),
        (Reason.VIRUS_DETECTED, r"email rejected due to security policies"),
    ),
    re.compile(r"\bmimecast\.com\b", re.I),
    re.compile(r"\bmimecast\.com\b", re.I),
)
MESSAGELABS = Receiver(
    "messagelabs",
    ("messagelabs.com", ".messagelabs.com"),
    # Symantec (Broadcom) Email Security.cloud's documented replies: sisimai's Rhost::MessageLabs.
    _table(
        (Reason.AUTH_FAILURE, r"domain authentication fail"),
        (Reason.BAD_REPUTATION, r"connection rejected by policy"),
        (
            Reason.REJECTED,
            r"sender envelope domain not allowed|your (?:domain|email address) has been "
            r"(?:blocked|blacklisted)|your envelope sender is in my badmailfrom list",
        ),
        (Reason.BLOCKED, r"your ip is in the pbl|your ip address (?:\S{1,60} )?has been"),
        (Reason.CONTENT_ERROR, r"stray linefeeds in message"),
        (Reason.FAILED_STARTTLS, r"tls/sslv3 connection required"),
        (Reason.NO_RELAYING, r" as a relay, "),
        (Reason.NOT_COMPLIANT_RFC, r"requested action aborted \[4\]|this message is not rfc 5322"),
        (Reason.SECURITY_ERROR, r"turn on smtp authentication"),
        (Reason.SPAM_DETECTED, r"message filtered|filtered by outbound scanning"),
        (Reason.TOO_MANY_CONN, r"too many recipients received this hour|too many messages"),
        (Reason.USER_UNKNOWN, r"no such user|invalid recipient|mailbox is not allowed"),
    ),
    re.compile(r"\bmessagelabs\.com\b|symanteccloud\.com", re.I),
    re.compile(r"delivery agent at messagelabs\.com|messagelabs\.com/support", re.I),
)
RECEIVERS = (GOOGLE, MICROSOFT, YAHOO, APPLE, KDDI, TENCENT, GODADDY, MIMECAST, MESSAGELABS)


def apply(findings: list[Finding], notice: str) -> None:
    """Set the reason a known receiver's reply names, for recipients that have none yet."""
    hosts: list[str] | None = None  # the hosts the notice names, found only when needed
    for finding in findings:
        if finding.hint or not finding.diagnostic:
            continue
        receiver = _receiver([finding.address.rpartition("@")[2].lower(), finding.remote_host])
        if receiver is None:
            if hosts is None:
                hosts = [h.lower() for h in _HOST.findall(notice[:8000])]
            receiver = _receiver([h.lower() for h in _HOST.findall(finding.diagnostic)] + hosts)
        if receiver is None:
            receiver = _signed(finding.diagnostic, notice)
        if receiver is not None:
            finding.hint = _reply_reason(receiver, finding.diagnostic)


def _receiver(names: list[str]) -> Receiver | None:
    for receiver in RECEIVERS:
        if any(_matches(name, receiver.domains) for name in names if name):
            return receiver
    return None


def _signed(diagnostic: str, notice: str) -> Receiver | None:
    """The receiver whose own trailer the reply carries, or the gateway that wrote the notice."""
    for receiver in RECEIVERS:
        if receiver.signature is not None and receiver.signature.search(diagnostic):
            return receiver
    head = notice[:8000]
    return next((r for r in RECEIVERS if r.gateway is not None and r.gateway.search(head)), None)


def _matches(name: str, domains: tuple[str, ...]) -> bool:
    return any(
        name.endswith(d) if d.startswith(".") else (name == d or name.endswith("." + d))
        for d in domains
    )


def _reply_reason(receiver: Receiver, diagnostic: str) -> str:
    return next((reason for reason, pattern in receiver.replies if pattern.search(diagnostic)), "")
