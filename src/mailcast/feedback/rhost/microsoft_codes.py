"""Exchange Server and Exchange Online: each documented NDR as its status code and its words.

Microsoft's NDR pages (Exchange Server 2019 and older, Exchange Online) give each refusal an
enhanced status code and a fixed text; a reply carrying both names the cause (sisimai's
Rhost::Microsoft). The status must be the documented one ("5.7.606" to "5.7.649" for a banned
sending IP), so the same words under another code are left to the phrase table.
"""

from __future__ import annotations

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.model import Finding

# (reason, status, lowest, highest third number or 0, 0 for the status alone, the text)
_CODES: tuple[tuple[str, str, int, int, str], ...] = (
    (Reason.AUTH_FAILURE, "4.7.26", 0, 0, "must pass either spf or dkim validation"),
    (Reason.AUTH_FAILURE, "5.7.23", 0, 0, "rejected because of sender policy framework violation"),
    (Reason.AUTH_FAILURE, "5.7.509", 0, 0, "does not pass dmarc verification"),
    (Reason.BAD_REPUTATION, "4.7.650", 0, 0, "temporarily rate limited due to ip reputation"),
    (Reason.BLOCKED, "4.4.2", 0, 0, "connection dropped"),
    (Reason.BLOCKED, "4.7.", 850, 899, "access denied, please try again later"),
    (Reason.BLOCKED, "5.7.25", 0, 0, "must have a reverse dns record"),
    (Reason.BLOCKED, "5.7.506", 0, 0, "access denied, bad helo"),
    (Reason.BLOCKED, "5.7.507", 0, 0, "access denied, rejected by recipient"),
    (Reason.BLOCKED, "5.7.510", 0, 0, "does not accept email over ipv6"),
    (Reason.BLOCKED, "5.7.511", 0, 0, "access denied, banned sender"),
    (Reason.BLOCKED, "5.7.513", 0, 0, "using customer block list"),
    (Reason.BLOCKED, "5.7.", 606, 649, "access denied, banned sending ip "),
    (Reason.BLOCKED, "4.7.", 500, 699, "access denied, please try again later"),
    (Reason.BLOCKED, "5.5.4", 0, 0, "invalid domain name"),
    (Reason.BLOCKED, "5.7.1", 0, 0, "part of their network is on our block list (s3150)"),
    (Reason.CONTENT_ERROR, "5.3.0", 0, 0, "too many related errors"),
    (Reason.CONTENT_ERROR, "5.6.11", 0, 0, "invalid characters"),
    (Reason.CONTENT_ERROR, "5.4.11", 0, 0, "agent generated message depth exceeded"),
    (Reason.CONTENT_ERROR, "5.5.6", 0, 0, "invalid message content"),
    (Reason.EXCEED_LIMIT, "5.2.3", 0, 0, "recipsizelimit; message too large for this recipient"),
    (Reason.EXPIRED, "4.4.1", 0, 0, "connection timed out"),
    (Reason.EXPIRED, "4.4.7", 0, 0, "message delayed"),
    (Reason.EXPIRED, "4.4.7", 0, 0, "message expired"),
    (Reason.EXPIRED, "5.4.300", 0, 0, "message expired"),
    (Reason.EXPIRED, "5.4.316", 0, 0, "message expired"),
    # The TLS failures of Exchange Online's outbound delivery (MTA-STS, DANE, a refused or
    # broken STARTTLS): sisimai 5 names them failedstarttls (its older Rhost::Microsoft had
    # authfailure and securityerror).
    (Reason.FAILED_STARTTLS, "4.4.8", 0, 0, " failed mta-sts validation"),
    (Reason.FAILED_STARTTLS, "5.4.8", 0, 0, " failed mta-sts validation"),
    (Reason.FAILED_STARTTLS, "4.4.317", 0, 0, "starttls is required to send mail"),
    (Reason.FAILED_STARTTLS, "5.4.317", 0, 0, "starttls is required to send mail"),
    (Reason.FAILED_STARTTLS, "4.7.5", 0, 0, "remote certificate failed mta-sts validation"),
    (Reason.FAILED_STARTTLS, "5.7.5", 0, 0, "remote certificate failed mta-sts validation"),
    (
        Reason.FAILED_STARTTLS,
        "5.7.51",
        0,
        0,
        "restrictdomainstoipaddresses or restrictdomainstocert",
    ),
    (Reason.FAILED_STARTTLS, "4.7.321", 0, 0, "starttls-not-supported: destination mail server"),
    (Reason.FAILED_STARTTLS, "5.7.321", 0, 0, "starttls-not-supported: destination mail server"),
    (Reason.FAILED_STARTTLS, "5.7.322", 0, 0, "certificate-expired: destination mail server's"),
    (Reason.FAILED_STARTTLS, "4.7.323", 0, 0, "tlsa-invalid: the domain failed dane validation"),
    (Reason.FAILED_STARTTLS, "5.7.323", 0, 0, "tlsa-invalid: the domain failed dane validation"),
    (
        Reason.FAILED_STARTTLS,
        "4.7.324",
        0,
        0,
        "dnssec-invalid: destination domain returned invalid",
    ),
    (
        Reason.FAILED_STARTTLS,
        "5.7.324",
        0,
        0,
        "dnssec-invalid: destination domain returned invalid",
    ),
    (Reason.FAILED_STARTTLS, "4.7.325", 0, 0, "certificate-host-mismatch: remote certificate must"),
    (Reason.FAILED_STARTTLS, "5.7.325", 0, 0, "certificate-host-mismatch: remote certificate must"),
    (Reason.MAILBOX_FULL, "5.2.2", 0, 0, "mailbox full"),
    (Reason.MESG_TOO_BIG, "5.3.4", 0, 0, "message size exceeds fixed maximum message size"),
    (Reason.MESG_TOO_BIG, "5.3.4", 0, 0, "message too big for system"),
    (Reason.NETWORK_ERROR, "5.4.4", 0, 0, "smtpsend.dns.nonexistentdomain; nonexistent domain"),
    (Reason.NETWORK_ERROR, "5.4.6", 0, 0, "hop count exceeded - possible mail loop"),
    (Reason.NETWORK_ERROR, "4.4.312", 0, 0, "dns query failed"),
    (Reason.NETWORK_ERROR, "5.4.312", 0, 0, "dns query failed"),
    (Reason.NETWORK_ERROR, "4.4.316", 0, 0, "connection refused"),
    (Reason.NETWORK_ERROR, "5.4.316", 0, 0, "connection refused"),
    (Reason.NETWORK_ERROR, "5.4.4", 0, 0, "invalid arguments"),
    (Reason.NETWORK_ERROR, "5.4.6", 0, 0, "routing loop detected"),
    (Reason.NETWORK_ERROR, "5.4.14", 0, 0, "routing loop detected"),
    (Reason.NO_RELAYING, "5.7.1", 0, 0, "unable to relay"),
    (Reason.NO_RELAYING, "5.4.1", 0, 0, "relay access denied"),
    (Reason.NO_RELAYING, "5.7.64", 0, 0, "tenantattribution; relay access denied"),
    (Reason.NO_RELAYING, "5.4.310", 0, 0, "does not exist"),
    (Reason.NOT_ACCEPT, "4.3.2", 0, 0, "system not accepting network messages"),
    (Reason.NOT_ACCEPT, "4.4.4", 0, 0, "hosted tenant which has no mail-enabled subscriptions"),
    (Reason.NOT_ACCEPT, "5.3.2", 0, 0, "missing or bad storedriver mdb properties"),
    (Reason.POLICY_VIOLATION, "5.0.350", 0, 0, "x-dg-ref header is too long"),
    (Reason.POLICY_VIOLATION, "5.0.350", 0, 0, "policy violation detected (as345)"),
    (Reason.POLICY_VIOLATION, "5.7.", 900, 999, "delivery not authorized, message refused"),
    (Reason.REJECTED, "5.1.7", 0, 0, "invalid address"),
    (Reason.REJECTED, "5.1.7", 0, 0, "unknown sender address"),
    (Reason.REJECTED, "5.1.0", 0, 0, "sender denied"),
    (Reason.REJECTED, "5.1.8", 0, 0, "access denied, bad outbound sender"),
    (Reason.REJECTED, "5.7.1", 0, 0, "delivery not authorized"),
    (Reason.REJECTED, "5.7.12", 0, 0, "sender was not authenticated by organization"),
    (Reason.REJECTED, "5.7.124", 0, 0, "sender not in allowed-senders list"),
    (Reason.REJECTED, "5.7.133", 0, 0, "sender not authenticated for group"),
    (Reason.REJECTED, "5.7.134", 0, 0, "sender was not authenticated for mailbox"),
    (Reason.REJECTED, "5.7.13", 0, 0, "sender was not authenticated for public folder"),
    (Reason.REJECTED, "5.7.135", 0, 0, "sender was not authenticated for public folder"),
    (Reason.REJECTED, "5.7.136", 0, 0, "sender was not authenticated"),
    (Reason.REJECTED, "5.7.", 501, 503, "access denied, spam abuse detected"),
    (Reason.REJECTED, "5.7.", 501, 503, "access denied, banned sender"),
    (Reason.REJECTED, "5.7.512", 0, 0, "message must be rfc 5322 section 3.6.2 compliant"),
    (Reason.REJECTED, "5.7.750", 0, 0, "client blocked from sending from unregistered domains"),
    (Reason.SECURITY_ERROR, "5.7.3", 0, 0, "cannot achieve exchange server authentication"),
    (Reason.SECURITY_ERROR, "5.7.3", 0, 0, "not authorized"),
    (Reason.SECURITY_ERROR, "5.7.57", 0, 0, "not authenticated to send anonymous mail"),
    (Reason.SPAM_DETECTED, "5.2.1", 0, 0, "content filter agent quarantined this message"),
    (Reason.SPEEDING, "4.3.2", 0, 0, "storedrv.deliver; recipient thread limit exceeded"),
    (Reason.SPEEDING, "5.1.90", 0, 0, "reached your daily limit for message recipients"),
    (Reason.SPEEDING, "5.2.2", 0, 0, "submission quota exceeded"),
    (Reason.SPEEDING, "5.2.121", 0, 0, "per hour message receive limit from specific sender"),
    (Reason.SPEEDING, "5.2.122", 0, 0, "recipient's per hour message receive limit exceeded"),
    (Reason.SPEEDING, "5.7.508", 0, 0, "has exceeded permitted limits within"),
    (Reason.SPEEDING, "5.7.", 700, 749, "access denied, tenant has exceeded threshold"),
    (Reason.SPEEDING, "5.7.", 700, 749, "access denied, traffic not accepted from this ip"),
    (Reason.SUSPEND, "5.7.504", 0, 0, "recipient address rejected: access denied"),
    (Reason.SUSPEND, "5.7.505", 0, 0, "access denied, banned recipient"),
    (Reason.SUSPEND, "5.2.1", 0, 0, "mailbox cannot be accessed"),
    (Reason.SYNTAX_ERROR, "5.3.3", 0, 0, "unrecognized command"),
    (Reason.SYNTAX_ERROR, "5.5.2", 0, 0, "send hello first"),
    (Reason.SYSTEM_ERROR, "4.3.2", 0, 0, "service not available"),
    (Reason.SYSTEM_ERROR, "4.3.2", 0, 0, "service not active"),
    (Reason.SYSTEM_ERROR, "5.3.5", 0, 0, "system incorrectly configured"),
    (Reason.SYSTEM_ERROR, "5.3.190", 0, 0, "not supported when journaling archive is disabled"),
    (Reason.SYSTEM_ERROR, "5.0.0", 0, 0, "helo / ehlo requires domain address"),
    (Reason.SYSTEM_ERROR, "5.1.4", 0, 0, "destination mailbox address ambiguous"),
    (Reason.SYSTEM_ERROR, "5.2.4", 0, 0, "mailing list expansion problem"),
    (Reason.SYSTEM_ERROR, "5.2.14", 0, 0, "misconfigured forwarding address"),
    (Reason.SYSTEM_ERROR, "4.4.3", 0, 0, "temporary server error. please try again later attr18"),
    (Reason.SYSTEM_ERROR, "4.7.0", 0, 0, "temporary server error. please try again later. prx4"),
    (Reason.SYSTEM_ERROR, "4.4.24", 0, 0, "message failed to be replicated"),
    (Reason.SYSTEM_ERROR, "4.4.25", 0, 0, "message failed to be replicated"),
    (Reason.SYSTEM_ERROR, "4.4.28", 0, 0, "message failed to be replicated"),
    (Reason.SYSTEM_ERROR, "4.4.318", 0, 0, "(suspiciousremoteservererror)"),
    (Reason.SYSTEM_ERROR, "5.4.318", 0, 0, "(suspiciousremoteservererror)"),
    (Reason.SYSTEM_ERROR, "4.7.500", 0, 0, "server busy. please try again later from "),
    (Reason.SYSTEM_ERROR, "4.7.700", 0, 0, "pfa agent busy, please try again."),
    (Reason.SYSTEM_FULL, "4.3.1", 0, 0, "insufficient system resources"),
    (Reason.TOO_MANY_CONN, "5.5.3", 0, 0, "too many recipients"),
    (Reason.TOO_MANY_CONN, "4.5.3", 0, 0, "too many recipients"),
    (Reason.TOO_MANY_CONN, "5.2.122", 0, 0, "the recipient has exceeded their limit for"),
    (Reason.USER_UNKNOWN, "5.1.1", 0, 0, "resolver.adr.exrecipnotfound; not found"),
    (Reason.USER_UNKNOWN, "5.1.1", 0, 0, "user unknown"),
    (Reason.USER_UNKNOWN, "5.1.3", 0, 0, "storedrv.submit; invalid recipient address"),
    (Reason.USER_UNKNOWN, "5.1.", 4, 5, "recipient address reserved by rfc 2606"),
    (Reason.USER_UNKNOWN, "5.1.6", 0, 0, "recipient addresses in single label domains not"),
    (Reason.USER_UNKNOWN, "5.1.1", 0, 0, "bad destination mailbox address"),
    (Reason.USER_UNKNOWN, "5.1.10", 0, 0, "recipient not found"),
    (Reason.USER_UNKNOWN, "5.4.1", 0, 0, "recipient address rejected: access denied"),
    (Reason.USER_UNKNOWN, "5.5.0", 0, 0, "requested action not taken: mailbox unavailable"),
    (Reason.USER_UNKNOWN, "5.1.2", 0, 0, "invalid x.400 address"),
    (Reason.USER_UNKNOWN, "5.1.351", 0, 0, "remote server returned unknown recipient or mailbox"),
)
_EXACT: dict[str, list[tuple[str, str]]] = {}
for _reason, _status, _low, _high, _text in _CODES:
    if not _high:
        _EXACT.setdefault(_status, []).append((_text, _reason))
_RANGED = tuple((s, low, high, text, r) for r, s, low, high, text in _CODES if high)


def decide(finding: Finding) -> str:
    """The cause a documented NDR names: its status code and its text both found."""
    status = finding.status
    exact = _EXACT.get(status)
    ranged = status[:4] in ("4.7.", "5.7.", "5.1.")
    if exact is None and not ranged:
        return ""
    text = finding.diagnostic.lower()
    for phrase, reason in exact or ():
        if phrase in text:
            return reason
    number = status[4:]
    if ranged and number.isdigit():
        for prefix, low, high, phrase, reason in _RANGED:
            if status.startswith(prefix) and low <= int(number) <= high and phrase in text:
                return reason
    return ""
