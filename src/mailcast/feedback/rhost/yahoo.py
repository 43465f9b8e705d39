"""Yahoo Inc. (Yahoo, AOL): its documented SMTP error replies."""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.model import Finding
from mailcast.feedback.rhost.common import Receiver, table


def _deferred(finding: Finding) -> str:
    """Yahoo's TSS04 deferral as its own MX wrote it (sisimai's Rhost::YahooInc).

    "Temporarily deferred due to unexpected volume or user complaints" is given to any sender
    Yahoo does not trust, unauthenticated or of poor standing alike: from Yahoo's MX
    (*.yahoodns.net) sisimai reads it as a refusal of the sender. Without that host the
    generic reading (the IP's reputation) stands, as it does in sisimai.
    """
    if not finding.remote_host.lower().endswith(".yahoodns.net"):
        return ""
    unexpected = "deferred due to unexpected volume or user complaints"
    return Reason.REJECTED if unexpected in finding.diagnostic.lower() else ""


YAHOO = Receiver(
    "yahoo",
    ("yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr", ".yahoodns.net"),
    table(
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
    decide=_deferred,
)
AOL = Receiver(
    "aol",
    ("aol.com", ".aol.com", "aim.com", "aol.co.uk", "aol.fr", "aol.de"),
    # AOL's MX relays write these for the domain behind them (sisimai's Rhost::Aol); a
    # malformed answer to the MX lookup is a domain that takes no mail.
    table(
        (Reason.NOT_ACCEPT, r"type=mx: malformed or unexpected name server reply"),
        (Reason.HOST_UNKNOWN, r"host or domain name not found"),
    ),
)
