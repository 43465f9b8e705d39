"""Microsoft (Outlook.com, Exchange Online): its documented NDR replies."""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.rhost.common import Receiver, table
from mailcast.feedback.rhost.microsoft_codes import decide

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
    table(
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
    # A documented NDR (its status code and its text) first, then the phrases above.
    decide=decide,
)
