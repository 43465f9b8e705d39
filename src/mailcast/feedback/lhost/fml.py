"""fml, the mailing-list manager: the list's notices name their cause in the text or subject.

A refused post ("You are not a member of this mailing list <list@example.org>"), a loop or a
security alert; the address in angle brackets on a line is the recipient the notice is about.
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding

NAME = "fml"
# Recognised by its headers or structure: a notice whatever its wording.
SELF_EVIDENT = True
STEPS_STATED = False  # a list manager speaks no SMTP
_ANGLED = re.compile(rf"<({ADDRESS})>")
_END = re.compile(r"^original mail as follows:", re.I | re.M)
# fml's messages (fml's own catalogue of replies), by the reason each names.
_BODY_REASONS = (
    (
        Reason.REJECTED,
        re.compile(
            r"header may cause mail loop|not member article from|reject mail from|reject spammers:"
            r"|you are not a member of this mailing list",
            re.I,
        ),
    ),
    (
        Reason.SYSTEM_ERROR,
        re.compile(
            r"has detected a loop condition so that|loop back warning:|duplicated message-id", re.I
        ),
    ),
    (Reason.SECURITY_ERROR, re.compile(r"security alert:", re.I)),
)
_SUBJECT_REASONS = (
    (
        Reason.REJECTED,
        re.compile(
            r" are not member|not member article from |reject mail "
            r"|spam mail from a spammer is rejected",
            re.I,
        ),
    ),
    (
        Reason.SYSTEM_ERROR,
        re.compile(
            r"fml system error message|loop alert: |loop back warning: |warning: unix from loop",
            re.I,
        ),
    ),
    (Reason.SECURITY_ERROR, re.compile(r"security alert", re.I)),
)


def claims(notice: Notice) -> bool:
    # A list's ordinary posts carry X-MLServer too; its notices come from the -admin address.
    return (
        bool(notice.raw_header("x-mlserver"))
        and "-admin@" in notice.sender
        and ".FML" in notice.raw_header("message-id").upper()
    )


def read(notice: Notice) -> Reading:
    end = _END.search(notice.text)
    body = notice.text[: end.start()] if end else notice.text
    found = []
    for line in body.split("\n"):
        match = _ANGLED.search(line)
        if match:
            found.append(finding(match.group(1), line.strip()))
        elif found and line.strip():
            found[-1].diagnostic = f"{found[-1].diagnostic} {line.strip()}"
    for item in found:
        item.hint = _reason(item.diagnostic, _BODY_REASONS) or _reason(
            notice.subject, _SUBJECT_REASONS
        )
    return Reading(NAME, found)


def _reason(text: str, table: tuple[tuple[str, re.Pattern[str]], ...]) -> str:
    return next((reason for reason, pattern in table if pattern.search(text)), "")
