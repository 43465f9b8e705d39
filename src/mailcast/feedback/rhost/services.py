"""Mail services with their own reply lists: Zoho Mail, Cloudflare Email Routing, Facebook."""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.model import Finding
from mailcast.feedback.rhost.common import Receiver, table

ZOHO = Receiver(
    "zoho",
    (
        "zoho.com",
        ".zoho.com",
        "zoho.eu",
        ".zoho.eu",
        "zohomail.com",
        ".zohomail.com",
        ".zohomail.eu",
    ),
    # Zoho Mail's SMTP replies and its spam-reason help page (sisimai's Rhost::Zoho).
    table(
        (Reason.AUTH_FAILURE, r"email rejected per dmarc policy"),
        (Reason.BLOCKED, r"greylisted, try again after some time"),
        (
            Reason.REJECTED,
            r"email cannot be delivered\. reason: email flagged as spam"
            r"|mail rejected by destination domain",
        ),
        (
            Reason.POLICY_VIOLATION,
            r"email policy violation detected|mailbox delivery restricted by policy error",
        ),
        (Reason.SYSTEM_ERROR, r"temporary system error"),
        (Reason.USER_UNKNOWN, r"user does not exist"),
        (Reason.VIRUS_DETECTED, r" detected by zoho mail"),
    ),
    re.compile(r"detected by zoho mail|\.zoho(?:mail)?\.(?:com|eu)\b", re.I),
)
CLOUDFLARE = Receiver(
    "cloudflare",
    ("mx.cloudflare.net", ".mx.cloudflare.net"),
    # Cloudflare Email Routing's postmaster page (sisimai's Rhost::Cloudflare).
    table(
        (Reason.BLOCKED, r"found on one or more (?:dns)?bls"),
        (Reason.SYSTEM_ERROR, r"upstream error"),
    ),
    re.compile(r"developers\.cloudflare\.com/email-routing", re.I),
)

# Facebook's response codes (its postmaster page, sisimai's Rhost::Facebook): a label such as
# "RCP-P1" or "POL-T2" names the cause.
_FACEBOOK_LABEL = re.compile(r"\b((?:CON|DNS|INT|MSG|POL|RCP)-[PT]\d)\b")
_FACEBOOK_CODES = {
    "POL-P7": Reason.AUTH_FAILURE,
    "POL-P1": Reason.BLOCKED,
    "POL-P2": Reason.BLOCKED,
    "POL-P3": Reason.BLOCKED,
    "POL-P4": Reason.BLOCKED,
    "POL-T1": Reason.BLOCKED,
    "POL-T2": Reason.BLOCKED,
    "POL-T3": Reason.BLOCKED,
    "MSG-P2": Reason.CONTENT_ERROR,
    "RCP-P2": Reason.FILTERED,
    "RCP-P3": Reason.FILTERED,
    "MSG-P1": Reason.MESG_TOO_BIG,
    "INT-P2": Reason.MESG_TOO_BIG,
    "MSG-P3": Reason.NOT_COMPLIANT_RFC,
    "DNS-P1": Reason.REJECTED,
    "DNS-P2": Reason.REJECTED,
    "DNS-T1": Reason.REJECTED,
    "DNS-P3": Reason.REQUIRE_PTR,
    "DNS-T2": Reason.REQUIRE_PTR,
    "POL-P6": Reason.SPAM_DETECTED,
    "RCP-T4": Reason.SUSPEND,
    "RCP-T1": Reason.SYSTEM_ERROR,
    "CON-T1": Reason.TOO_MANY_CONN,
    "CON-T2": Reason.TOO_MANY_CONN,
    "CON-T3": Reason.TOO_MANY_CONN,
    "CON-T4": Reason.TOO_MANY_CONN,
    "MSG-T1": Reason.TOO_MANY_CONN,
    "RCP-P1": Reason.USER_UNKNOWN,
    "INT-P1": Reason.USER_UNKNOWN,
    "INT-P3": Reason.USER_UNKNOWN,
    "INT-P4": Reason.USER_UNKNOWN,
    "POL-P5": Reason.VIRUS_DETECTED,
}


def _facebook(finding: Finding) -> str:
    if "-" not in finding.diagnostic:
        return ""
    match = _FACEBOOK_LABEL.search(finding.diagnostic)
    return _FACEBOOK_CODES.get(match.group(1), "") if match else ""


FACEBOOK = Receiver(
    "facebook",
    ("facebook.com", ".facebook.com", "facebookmail.com", ".facebookmail.com"),
    (),
    re.compile(r"postmaster\.facebook\.com|facebook\.com/postmaster", re.I),
    decide=_facebook,
)
