"""Bounce reasons (sisimai's vocabulary) from status codes, reply codes, commands and text.

The rules, in the order they apply:

1. A reason the format states outright (a pipe failure, a complaint, an auto-reply) stands.
2. Success (action delivered/relayed/expanded, status 2.X.X) is "delivered".
3. Decisive status codes: RFC 3463 codes that name one cause (X.2.2 mailbox full,
   X.3.4 too big, 5.7.26 authentication...) unless the text names a different cause.
4. Specific diagnostic phrases (patterns.PHRASES), tried in PRIORITY order; the text wins
   over a generic status code ("5.0.0 ... user unknown" is userunknown), adjusted by the SMTP
   step: "user unknown" said after DATA (or with 5.2.X) is a filter's excuse → filtered.
5. The status code's table entry, then its class (X.6 content, X.7 security...).
6. The SMTP step alone: refused at connection/EHLO → blocked; at MAIL FROM → rejected.
7. Weak phrases (expiry, network, system) and the reply code; a delayed action → expired.
8. Anything else is "onhold" when there is a diagnostic, "undefined" when there is none.
"""

from __future__ import annotations

import re

from mailcast.domain import FailureReason, FailureType
from mailcast.feedback import patterns
from mailcast.feedback.model import Finding

NOT_FAILURES = frozenset({"delivered", "feedback", "vacation"})
# sisimai's HardBounce: the address itself is bad; everything else may succeed later.
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})
SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded", "deliverable"})

# RFC 3463 codes whose meaning is one reason, whatever the rest of the text says.
DECISIVE_STATUS: dict[str, str] = {
    "X.2.2": "mailboxfull",
    "X.2.3": "exceedlimit",
    "X.3.4": "mesgtoobig",
    "X.7.13": "suspend",
    "X.7.20": "authfailure",
    "X.7.21": "authfailure",
    "X.7.22": "authfailure",
    "X.7.23": "authfailure",
    "X.7.24": "authfailure",
    "X.7.25": "requireptr",
    "X.7.26": "authfailure",
    "X.7.27": "notaccept",
    "X.7.29": "authfailure",
    "X.7.30": "failedstarttls",
}

# RFC 3463 (and registered later) codes, by subject.detail; X = either class.
STATUS_REASONS: dict[str, str] = {
    "X.1.0": "userunknown",
    "X.1.1": "userunknown",
    "X.1.2": "hostunknown",
    "X.1.3": "userunknown",
    "X.1.4": "filtered",
    "X.1.6": "hasmoved",
    "X.1.7": "rejected",
    "X.1.8": "rejected",
    "X.1.9": "systemerror",
    "X.1.10": "notaccept",
    "X.2.0": "filtered",
    "X.2.1": "filtered",
    "X.2.4": "filtered",
    "X.3.0": "systemerror",
    "X.3.1": "systemfull",
    "X.3.2": "notaccept",
    "X.3.3": "systemerror",
    "X.3.5": "systemerror",
    "X.4.0": "networkerror",
    "X.4.1": "expired",
    "X.4.2": "networkerror",
    "X.4.3": "systemerror",
    "X.4.4": "networkerror",
    "X.4.5": "systemfull",
    "X.4.6": "networkerror",
    "X.4.7": "expired",
    "X.4.8": "networkerror",
    "X.5.2": "syntaxerror",
    "X.5.3": "toomanyconn",
    "X.5.4": "systemerror",
    "X.5.5": "systemerror",
    "X.5.6": "syntaxerror",
    "X.7.1": "securityerror",
    "X.7.17": "hasmoved",
    "X.7.18": "hasmoved",
    "X.7.28": "spamdetected",
}
# Codes whose meaning differs between the permanent and the transient class.
CLASS_STATUS_REASONS: dict[str, str] = {
    "5.4.4": "hostunknown",  # unable to route: no such domain
    "4.2.1": "blocked",  # a mailbox refusing for now
    "4.7.1": "blocked",
    "4.7.2": "blocked",
}
SUBJECT_REASONS = {"6": "contenterror", "7": "securityerror"}

# RFC 5321/7504/5248 replies that name a cause on their own.
REPLY_REASONS: dict[str, str] = {
    "525": "suspend",  # user account disabled
    "521": "notaccept",  # host does not accept mail
    "556": "notaccept",  # domain does not accept mail
    "523": "failedstarttls",
    "524": "failedstarttls",
    "538": "failedstarttls",
}

# Text checks, strongest first. The weak ones only apply once codes have had their say.
PRIORITY = (
    "mailererror",
    "mailboxfull",
    "mesgtoobig",
    "exceedlimit",
    "suspend",
    "hasmoved",
    "norelaying",
    "authfailure",
    "requireptr",
    "notcompliantrfc",
    "badreputation",
    "virusdetected",
    "spamdetected",
    "policyviolation",
    "contenterror",
    "rejected",
    "userunknown",
    "hostunknown",
    "filtered",
    "speeding",
    "toomanyconn",
    "blocked",
    "systemfull",
    "notaccept",
    "failedstarttls",
    "syntaxerror",
    "onhold",
)
WEAK = ("securityerror", "networkerror", "systemerror", "expired")
_VAGUE_STATUS = frozenset(
    {"systemerror", "securityerror", "expired", "networkerror", "hostunknown", "userunknown"}
)
# Reasons about the address or the mailbox: only meaningful when the recipient was refused.
_RECIPIENT_REASONS = frozenset({"userunknown", "filtered", "mailboxfull", "suspend"})
_EMPTY_MAILBOX_REPLY = re.compile(r"\b[45]\d\d\b[ :]*: user unknown")
_AFTER_CONTENT = re.compile(
    r"end of data|failed after i sent the message|"
    r"after (?:sending )?(?:the )?message (?:body|content)"
)
_TRY_AGAIN = re.compile(r"not found, try again|try again later|temporar(?:y|ily) (?:failure|error)")

ACS_REASONS: dict[str, FailureReason] = {
    "userunknown": FailureReason.USER_UNKNOWN,
    "hasmoved": FailureReason.USER_UNKNOWN,
    "hostunknown": FailureReason.INVALID_DOMAIN,
    "notaccept": FailureReason.INVALID_DOMAIN,
    "mailboxfull": FailureReason.MAILBOX_FULL,
    "exceedlimit": FailureReason.MAILBOX_FULL,
    "suspend": FailureReason.ACCOUNT_DISABLED,
    "authfailure": FailureReason.REFUSED,
    "badreputation": FailureReason.REFUSED,
    "blocked": FailureReason.REFUSED,
    "contenterror": FailureReason.REFUSED,
    "failedstarttls": FailureReason.REFUSED,
    "filtered": FailureReason.REFUSED,
    "mesgtoobig": FailureReason.REFUSED,
    "norelaying": FailureReason.REFUSED,
    "notcompliantrfc": FailureReason.REFUSED,
    "policyviolation": FailureReason.REFUSED,
    "rejected": FailureReason.REFUSED,
    "requireptr": FailureReason.REFUSED,
    "securityerror": FailureReason.REFUSED,
    "spamdetected": FailureReason.REFUSED,
    "speeding": FailureReason.REFUSED,
    "suppressed": FailureReason.REFUSED,
    "syntaxerror": FailureReason.REFUSED,
    "virusdetected": FailureReason.REFUSED,
    "expired": FailureReason.UNREACHABLE,
    "mailererror": FailureReason.UNREACHABLE,
    "networkerror": FailureReason.UNREACHABLE,
    "systemerror": FailureReason.UNREACHABLE,
    "systemfull": FailureReason.UNREACHABLE,
    "toomanyconn": FailureReason.UNREACHABLE,
    "onhold": FailureReason.NOT_DEFINED,
    "undefined": FailureReason.NOT_DEFINED,
    "vacation": FailureReason.ERROR_IGNORED,
    "feedback": FailureReason.ERROR_IGNORED,
}


def normalize_text(text: str) -> str:
    return " ".join(text.lower().split())


def reason(finding: Finding) -> str:
    """The sisimai reason for one recipient."""
    if finding.hint:
        return finding.hint
    if finding.action in SUCCESS_ACTIONS or finding.status.startswith("2."):
        return "delivered"
    text = normalize_text(finding.diagnostic)
    found = (
        _decisive(finding, text)
        or _by_text(finding, text)
        or _by_status(finding, text)
        or _weak(text)
        or _by_command(finding)
    )
    if not found and finding.context:
        extra = normalize_text(finding.context)
        found = _by_text(finding, extra) or _weak(extra)
    return found or _fallback(finding, text)


def is_hard(reason_name: str, status: str = "", reply_code: str = "") -> bool:
    """sisimai's HardBounce: a bad address; notaccept only when the refusal is permanent."""
    if reason_name in HARD_REASONS:
        return True
    if reason_name != "notaccept":
        return False
    code = status or reply_code
    return not code or code.startswith("5")


def failure_type(reason_name: str, hard: bool) -> FailureType | None:
    if reason_name == "delivered":
        return None
    if reason_name in NOT_FAILURES:
        return FailureType.IGNORED
    return FailureType.HARD if hard else FailureType.SOFT


def failure_reason(reason_name: str) -> FailureReason | None:
    if reason_name == "delivered":
        return None
    return ACS_REASONS.get(reason_name, FailureReason.NOT_DEFINED)


def status_reason(status: str) -> str:
    """The reason an enhanced status code names, "" when it names none."""
    if not status or status[0] not in "45":
        return ""
    if status in CLASS_STATUS_REASONS:
        return CLASS_STATUS_REASONS[status]
    key = "X" + status[1:]
    return DECISIVE_STATUS.get(key) or STATUS_REASONS.get(key, "")


def _decisive(finding: Finding, text: str) -> str:
    if not finding.status or finding.status[0] not in "45":
        return ""
    return DECISIVE_STATUS.get("X" + finding.status[1:], "")


def _by_text(finding: Finding, text: str) -> str:
    if not text:
        return ""
    for name in PRIORITY:
        if patterns.matches(name, text):
            return _adjust(name, finding, text)
    return ""


def _adjust(name: str, finding: Finding, text: str) -> str:
    """Refine a text match by the SMTP step and the status code that came with it."""
    if name in _RECIPIENT_REASONS and finding.command in ("CONN", "EHLO"):
        return "blocked"
    if name == "userunknown":
        return _unknown_user(finding, text)
    if name == "hostunknown" and _transient(finding, text):
        # A DNS failure worth retrying is not (yet) a verdict on the domain.
        return "networkerror"
    return name


def _unknown_user(finding: Finding, text: str) -> str:
    """ "User unknown" is the address's fault only when said about the recipient itself."""
    if finding.command == "MAIL":
        return "rejected"
    if _AFTER_CONTENT.search(text) or _EMPTY_MAILBOX_REPLY.search(text):
        # Said once the content was sent, or naming no mailbox: a filter hiding behind the
        # phrase. (At the DATA command itself it is a pipelined RCPT refusal.)
        return "filtered"
    if finding.command == "RCPT":
        return "userunknown"
    subject = finding.status[1:4] if finding.status else ""
    if subject and subject not in (".1.", ".0.", ".4.", ".5."):
        return "filtered"
    return "userunknown"


def _transient(finding: Finding, text: str) -> bool:
    return (
        finding.status.startswith("4")
        or finding.action == "delayed"
        or bool(_TRY_AGAIN.search(text))
    )


def _by_status(finding: Finding, text: str) -> str:
    status = finding.status
    named = status_reason(status) if not status.endswith(".0.0") else ""
    if named in ("userunknown", "filtered") and finding.command == "MAIL":
        return "rejected"
    if named and named not in _VAGUE_STATUS:
        return named
    if not named and status[2:3] in SUBJECT_REASONS:
        named = SUBJECT_REASONS[status[2]]
    # A code that says little (system, security, network...) yields to what else is known.
    return (
        _weak(text)
        or _by_command(finding)
        or REPLY_REASONS.get(finding.reply_code, "")
        or ("expired" if finding.action == "delayed" else "")
        or named
    )


def _by_command(finding: Finding) -> str:
    if finding.command in ("CONN", "EHLO"):
        return "blocked"
    if finding.command == "MAIL":
        return "rejected"
    if finding.command == "STARTTLS":
        return "failedstarttls"
    return ""


def _weak(text: str) -> str:
    for name in WEAK:
        if patterns.matches(name, text):
            return name
    return ""


def _fallback(finding: Finding, text: str) -> str:
    if finding.diagnostic_type.startswith("x-unix"):
        return "mailererror"
    if finding.action in ("delayed", "expired"):
        return "expired"
    return "onhold" if text else "undefined"
