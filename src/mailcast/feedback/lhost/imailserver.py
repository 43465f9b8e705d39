"""Ipswitch IMail Server: "Unknown user: address" or "undeliverable to address" per recipient.

    Unknown user: kijitora@example.com

    undeliverable to kijitora@example.jp
    Body of message generated response:
    550 5.7.1 ...

A line "Cause: address" names both; "undeliverable to" is followed by the remote reply.
IMail's own causes carry no reply code (sisimai's Lhost/IMailServer).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, own_message

NAME = "imailserver"
STEPS_STATED = False
_SUBJECT = re.compile(r"^undeliverable mail", re.I)
_CAUSE_LINE = re.compile(rf"^([A-Za-z][\w ]{{3,60}}):\s{{1,20}}<?({ADDRESS})>?\s{{0,20}}$")
_UNDELIVERABLE = re.compile(rf"^undeliverable to\s{{1,20}}<?({ADDRESS})>?", re.I)
_END = re.compile(r"^\s{0,20}original message follows", re.I | re.M)
_MARK = re.compile(
    r"^\s{0,20}(?:original message follows|body of message generated response)", re.I | re.M
)
_HEADERS = frozenset({"to", "cc", "from", "bcc", "reply-to", "sender"})
_OWN_WORDS = (
    (Reason.HOST_UNKNOWN, re.compile(r"unknown host", re.I)),
    (Reason.USER_UNKNOWN, re.compile(r"unknown user|invalid final delivery userid", re.I)),
    (Reason.MAILBOX_FULL, re.compile(r"user mailbox exceeds allowed size", re.I)),
    (Reason.VIRUS_DETECTED, re.compile(r"requested action not taken: virus detected", re.I)),
    (Reason.EXPIRED, re.compile(r"^delivery failed ", re.I)),
)


def claims(notice: Notice) -> bool:
    if notice.raw_header("x-mailer").strip().startswith("<SMTP32 v"):
        return True
    return bool(_SUBJECT.search(notice.subject) and _MARK.search(notice.text))


def read(notice: Notice) -> Reading:
    end = _END.search(notice.body)
    found: list[tuple[str, list[str]]] = []
    for line in (notice.body[: end.start()] if end else notice.body).split("\n"):
        text = line.strip()
        cause = _CAUSE_LINE.match(text)
        undeliverable = _UNDELIVERABLE.match(text)
        if cause and cause.group(1).strip().lower() not in _HEADERS:
            found.append((cause.group(2), [text]))
        elif undeliverable:
            found.append((undeliverable.group(1), [text]))
        elif found and text:
            found[-1][1].append(text)
    findings = [own_message(finding(a, " ".join(lines)), _OWN_WORDS) for a, lines in found]
    return Reading(NAME, findings)
