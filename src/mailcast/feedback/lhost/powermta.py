"""PowerMTA: "Hello, this is the mail server on ..." and a status part with its bounce category.

    Final-Recipient: rfc822;kijitora@example.jp
    Status: 5.2.1 (mailbox disabled, not accepting messages)
    Diagnostic-Code: smtp;550 5.2.1 <kijitora@example.jp>... User Unknown
    X-PowerMTA-BounceCategory: bad-mailbox

The category is PowerMTA's own classification of the reply; it stands when the reply says no
cause of its own. The Status comment is PowerMTA's wording of the code; "mailbox disabled"
there says the account, not the address, is at fault (sisimai's Lhost/PowerMTA).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback import patterns
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding
from mailcast.feedback.model import Finding

NAME = "powermta"
STEPS_STATED = False
_SUBJECT = re.compile(r"^delivery report", re.I)
_START = re.compile(r"hello, this is the mail server on ", re.I)
_FIELD = re.compile(r"^([a-z][\w-]{1,40}):\s{0,20}(.{0,2000})$", re.I)
_CATEGORIES = {
    "bad-domain": Reason.HOST_UNKNOWN,
    "bad-mailbox": Reason.USER_UNKNOWN,
    "inactive-mailbox": Reason.SUSPEND,
    "message-expired": Reason.EXPIRED,
    "no-answer-from-host": Reason.NETWORK_ERROR,
    "policy-related": Reason.POLICY_VIOLATION,
    "quota-issues": Reason.MAILBOX_FULL,
    "routing-errors": Reason.SYSTEM_ERROR,
    "spam-related": Reason.SPAM_DETECTED,
}
_COMMENT = re.compile(r"\(([^()]{1,200})\)")


def claims(notice: Notice) -> bool:
    structure = any("x-powermta-bouncecategory" in s.lower() for s in notice.parts.delivery_status)
    return structure or bool(_SUBJECT.search(notice.subject) and _START.search(notice.head))


def read(notice: Notice) -> Reading:
    findings: list[Finding] = []
    status = ""
    for text in notice.parts.delivery_status:
        for line in text.replace("\r\n", "\n").split("\n"):
            field = _FIELD.match(line.strip())
            if not field:
                continue
            name, value = field.group(1).lower(), field.group(2).strip()
            if name == "final-recipient" and re.search(ADDRESS, value):
                findings.append(finding(value.rsplit(";", 1)[-1], ""))
                status = ""
            elif findings and name == "status":
                status = value
            elif findings and name == "diagnostic-code":
                findings[-1] = finding(findings[-1].address, value.split(";", 1)[-1])
                _mark(findings[-1], "", status)
            elif findings and name == "x-powermta-bouncecategory":
                _mark(findings[-1], value.lower(), status)
    return Reading(NAME, findings)


def _mark(item: Finding, category: str, status: str) -> None:
    comment = _COMMENT.search(status)
    said = " ".join(comment.group(1).lower().split()) if comment else ""
    if said and patterns.matches(Reason.SUSPEND, said):
        item.hint = Reason.SUSPEND
    item.stated = item.stated or _CATEGORIES.get(category, "")
