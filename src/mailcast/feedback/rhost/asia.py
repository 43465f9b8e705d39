"""Receivers in Japan and China: KDDI (au), Tencent (QQ)."""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.model import Finding
from mailcast.feedback.rhost.common import Receiver, table

KDDI = Receiver(
    "kddi",
    ("ezweb.ne.jp", "au.com", ".ezweb.ne.jp"),
    table(
        # au answers "550 : User unknown" (no mailbox named) for its users' reception filters.
        (Reason.FILTERED, r"550 : user unknown"),
        (Reason.USER_UNKNOWN, r">: user unknown"),
    ),
)
TENCENT = Receiver(
    "tencent",
    ("qq.com", "foxmail.com", ".qq.com"),
    # Tencent's reply list (service.mail.qq.com/detail/122), as sisimai's Rhost::Tencent.
    table(
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


def _docomo(finding: Finding) -> str:
    """NTT docomo says little but its status and step (sisimai's Rhost::NTTDOCOMO).

    5.1.1 is an unknown user, 5.2.0 its reception filter refusing the sender; with 5.0.0 the
    step decides: an unknown user at RCPT TO, a refusal once the message was sent at DATA.
    """
    if finding.status in ("5.1.1", "5.0.911"):
        return Reason.USER_UNKNOWN
    if finding.status == "5.2.0":
        return Reason.FILTERED
    text = finding.diagnostic.lower()
    if "552 too much mail data" in text:
        return Reason.MAILBOX_FULL
    if "552 too many recipients" in text:
        return Reason.TOO_MANY_CONN
    if "503 bad sequence of commands" in text or "504 command parameter not implemented" in text:
        return Reason.SYNTAX_ERROR
    if finding.status == "5.0.0" and finding.command == "RCPT":
        return Reason.USER_UNKNOWN
    if finding.status == "5.0.0" and finding.command == "DATA":
        return Reason.REJECTED
    return ""


NTTDOCOMO = Receiver(
    "nttdocomo",
    ("docomo.ne.jp", ".docomo.ne.jp"),
    (),
    decide=_docomo,
)
