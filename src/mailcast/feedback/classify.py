"""Bounce reasons (sisimai's vocabulary) from status codes, reply codes, commands and text.

The rules, in the order they apply:

1. A reason the format states outright (a pipe failure, a complaint, an auto-reply) stands.
2. Success (action delivered/relayed/expanded, status 2.X.X) is "delivered".
3. Decisive status codes: RFC 3463 codes that name one cause (X.2.2 mailbox full,
   X.3.4 too big, 5.7.26 authentication...) unless the text names a different cause.
4. Specific diagnostic phrases (patterns.PHRASES), tried in PRIORITY order; the text wins
   over a generic status code ("5.0.0 ... user unknown" is userunknown), adjusted by the SMTP
   step: "user unknown" said after DATA (or with 5.2.X) is a filter's excuse → filtered; an
   unknown user or domain refused at MAIL FROM is the sender's → rejected.
5. The status code's table entry, then its class (X.6 content, X.7 security...); a code that
   says little (system, network, security) yields first to the weak phrases of 7, the SMTP
   step of 6, the reply code and a delayed action.
6. The SMTP step alone: refused at connection/EHLO → blocked; at MAIL FROM → rejected.
7. Weak phrases (expiry, network, system) and the reply code; a delayed action → expired.
   A 501-507 reply that said nothing else is a syntax error.
8. Anything else is "onhold" when there is a diagnostic, "undefined" when there is none.
"""

from __future__ import annotations

import re

from mailcast.domain import FailureReason, FailureType
from mailcast.feedback import patterns
from mailcast.feedback.codes import (
    ACS_REASONS,
    REPLY_REASONS,
    SUBJECT_REASONS,
    decisive_reason,
    status_reason,
)
from mailcast.feedback.model import Finding

NOT_FAILURES = frozenset({"delivered", "feedback", "vacation"})
# sisimai's HardBounce: the address itself is bad; everything else may succeed later.
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})
SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded", "deliverable"})

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
# In sisimai's order: a named system or network fault before the queue giving up, and a
# security refusal only when nothing else was said.
WEAK = ("systemerror", "networkerror", "expired", "securityerror")
_VAGUE_STATUS = frozenset(
    {"systemerror", "securityerror", "expired", "networkerror", "hostunknown", "userunknown"}
)
# Reasons about the address or the mailbox: only meaningful when the recipient was refused.
_BEFORE_CONTENT = frozenset({"CONN", "EHLO", "STARTTLS", "MAIL", "RCPT"})
_RECIPIENT_REASONS = frozenset({"userunknown", "filtered", "mailboxfull", "suspend"})
# Causes checked after "user unknown" in PRIORITY that still overrule a 5.1.1 status.
_NOT_UNKNOWN_AFTER = ("blocked", "notaccept")
# Refusals that name the message as spam though they say "blocked" or "blacklisted": a filter
# read the content (or a URL in it), not the sending host's name (sisimai's SpamDetected list,
# which its Blocked list does not share).
_SPAM_NOT_HOST = re.compile(
    r"block for spam|blocked for abuse\. see http://att\.net|no spam please|blocked by spamassassin"
    r"|blacklisted url|help_spam_16|is blacklisted on|temporarily blocked by our filter"
)
_MESSAGE_FILTERED = re.compile(r"\bmessage filtered\b")
_EMPTY_MAILBOX_REPLY = re.compile(r"\b[45]\d\d\b[ :]{0,10}: user unknown")
_AFTER_CONTENT = re.compile(
    r"end of data|failed after i sent the message|"
    r"after (?:sending )?(?:the )?message (?:body|content)"
)
_QUEUE_EXPIRY = re.compile(
    r"connection timed out|expired|giving up|too long|could not be delivered for|failing for a long"
    r"|has been delayed|not reachable within|retry time"
    # sisimai's Expired words, tried before a network status code is taken (Reason::anotherone).
    r"|could not find a gateway|delivery attempts will continue|failed to deliver to domain"
    r"|has not been collected after|message timed out|server did not respond"
    r"|unable to deliver message after"
)
_SYNTAX_REPLY = re.compile(r"^[45]0[1-7]$")
_TRY_AGAIN = re.compile(r"not found, try again|try again later|temporar(?:y|ily) (?:failure|error)")


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
        or finding.stated
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


def _decisive(finding: Finding, text: str) -> str:
    return decisive_reason(finding.status)


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
    if name == "norelaying" and finding.command in ("CONN", "EHLO"):
        # No recipient was named yet: a host refused by name is blocked (sisimai's NoRelaying
        # is not tried at connection time).
        return "blocked" if patterns.matches("blocked", text) else name
    if name == "spamdetected" and finding.command in _BEFORE_CONTENT:
        # No content was read yet: words about spam describe the sending host's name.
        if finding.command in ("MAIL", "RCPT") and _SPAM_NOT_HOST.search(text):
            return name
        return "blocked" if patterns.matches("blocked", text) else name
    if name == "filtered" and finding.command in _BEFORE_CONTENT and _MESSAGE_FILTERED.search(text):
        # A filter's refusal before any content was sent is a spam filter's (sisimai's order).
        return "spamdetected"
    if name == "userunknown":
        return _unknown_user(finding, text)
    if name == "hostunknown" and finding.command == "MAIL":
        # Refused at MAIL FROM, the domain that "does not exist" is the sender's.
        return "rejected"
    if name == "hostunknown" and _transient(finding, text):
        # A DNS failure worth retrying is not (yet) a verdict on the domain.
        return "networkerror"
    return name


def _unknown_user(finding: Finding, text: str) -> str:
    """ "User unknown" is the address's fault only when said about the recipient itself.

    The SMTP step decides: refused at RCPT TO, the mailbox is unknown; refused once the
    message was sent (DATA, end of data), a filter hides behind the phrase; refused at
    MAIL FROM, the sender is. A status X.1.1 names the mailbox whatever the step. Said at no
    known step and with no mailbox code, it is a filter's refusal too (sisimai's Filtered and
    UserUnknown rules), unless the format itself states the reason.
    """
    if finding.command == "MAIL":
        return "rejected"
    if finding.status[1:] == ".1.1":
        return _bad_mailbox_unless(finding, text)
    if finding.command == "RCPT":
        return "userunknown"
    if (
        finding.command == "DATA"
        or _AFTER_CONTENT.search(text)
        or _EMPTY_MAILBOX_REPLY.search(text)
    ):
        return "filtered"
    if not finding.command and finding.steps_stated:
        return "filtered"
    subject = finding.status[1:4] if finding.status else ""
    if subject and subject not in (".1.", ".0."):
        # A code about the system, the network or the protocol (X.3-X.5 too) does not name the
        # mailbox: sisimai's UserUnknown needs RCPT TO or X.1.X, else Filtered takes the words.
        return "filtered"
    if (
        subject in ("", ".0.")
        and finding.stated in ("", "filtered")
        and not finding.provider_verdict
    ):
        # Neither the step nor a code says the recipient was refused: as in sisimai, "user
        # unknown" is the mailbox's own fault only at RCPT TO or with X.1.X, else a filter's.
        return "filtered"
    return "userunknown"


def _bad_mailbox_unless(finding: Finding, text: str) -> str:
    """X.1.1 names a bad mailbox unless the server's words give another cause (sisimai's rule).

    Servers answer 5.1.1 for a blocked host or a service that takes no mail as well; the
    causes tried before "user unknown" (relaying, a full mailbox, a policy...) already won.
    Refused at RCPT TO, the other cause stands; at any other step, or at none stated, the
    refusal is a filter's, as sisimai reads the same words.
    """
    other = next((name for name in _NOT_UNKNOWN_AFTER if patterns.matches(name, text)), "")
    if not other:
        return "userunknown"
    return other if finding.command == "RCPT" else "filtered"


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
    weak = _weak(text)
    if named == "networkerror" and weak == "expired" and not _QUEUE_EXPIRY.search(text):
        # A routing or connection code ("bad connection", "unable to route") is the cause;
        # only words about the queue giving up make it an expiry.
        return named
    # A code that says little (system, security, network...) yields to what else is known.
    return (
        weak
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
    if _SYNTAX_REPLY.match(finding.reply_code):
        # 501-507 (and 401-407) answer a command the server could not parse or take in that
        # order (RFC 5321 4.2.3); said with no other cause, the session's syntax failed.
        return "syntaxerror"
    if finding.action in ("delayed", "expired"):
        return "expired"
    return "onhold" if text else "undefined"
