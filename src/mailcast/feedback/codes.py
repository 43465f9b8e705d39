"""What SMTP reply codes and RFC 3463 enhanced status codes say on their own, as reasons.

The tables name a reason (sisimai's vocabulary) for codes whose meaning is one cause; the
classifier weighs them against the diagnostic text. Also the mapping of reasons onto the
ACS failure reasons of SPEC §5.
"""

from __future__ import annotations

from mailcast.domain import FailureReason

# RFC 3463 codes whose meaning is one reason, whatever the rest of the text says.
DECISIVE_STATUS: dict[str, str] = {
    "X.2.2": "mailboxfull",
    "X.2.3": "exceedlimit",
    "X.3.4": "mesgtoobig",
    "X.7.13": "suspend",
    "X.7.16": "mesgtoobig",
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
    "4.2.1": "blocked",  # mailbox disabled for now (sisimai's status table; 5.2.1 is filtered)
    "4.5.3": "systemerror",  # too many recipients for now (5.5.3 is toomanyconn)
    "4.7.1": "blocked",
    "4.7.2": "blocked",
}
# Codes sisimai's status table names for the permanent class only: a transient one names no
# reason, and the text, the step or the subject (X.6 content, X.7 security) decide. A 4.1.1 is
# not (yet) an unknown mailbox, nor 4.7.17 a moved one. (The other way round sisimai leaves
# 5.4.1-5.4.8 unnamed; mailcast keeps their network meaning, the subject says as much.)
PERMANENT_ONLY = frozenset(
    {
        "X.1.0",
        "X.1.1",
        "X.1.2",
        "X.1.3",
        "X.1.4",
        "X.1.10",
        "X.2.0",
        "X.3.0",
        "X.3.4",
        "X.4.0",
        "X.5.2",
        "X.5.4",
        "X.5.6",
        "X.7.13",
        "X.7.17",
        "X.7.18",
        "X.7.20",
        "X.7.21",
        "X.7.22",
        "X.7.23",
        "X.7.27",
        "X.7.28",
        "X.7.29",
        "X.7.30",
    }
)

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


def _class_key(status: str) -> str:
    """The table key of a 4.X.X/5.X.X code, "" when its class gives the code no reason."""
    if not status or status[0] not in "45":
        return ""
    key = "X" + status[1:]
    return "" if status[0] == "4" and key in PERMANENT_ONLY else key


def decisive_reason(status: str) -> str:
    """The reason a decisive status code names whatever the text says, "" when none."""
    return DECISIVE_STATUS.get(_class_key(status), "")


def status_reason(status: str) -> str:
    """The reason an enhanced status code names, "" when it names none."""
    if status in CLASS_STATUS_REASONS:
        return CLASS_STATUS_REASONS[status]
    key = _class_key(status)
    return DECISIVE_STATUS.get(key) or STATUS_REASONS.get(key, "")
