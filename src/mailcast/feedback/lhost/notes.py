"""Lotus Notes (Domino's SMTP MTA): failure reasons, each above the address it concerns.

    ------- Failure Reasons  --------

    User not listed in public Name & Address Book
    kijitora@notes.example.jp

    ------- Returned Message --------

The reason comes first and the address after it; Notes names no SMTP step. Its own reasons
name a cause (sisimai's Lhost/Notes); a reason in the server's language is left to the
general phrases.
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import Notice, Reading, finding, is_address, named_cause

NAME = "notes"
STEPS_STATED = False
_SUBJECT = re.compile(r"^undeliverable message", re.I)
_START = re.compile(r"^-{3,20} ?failure reasons\s{0,4}-{0,20}", re.I | re.M)
_END = re.compile(r"^-{3,20} ?returned message ?-{0,20}", re.I | re.M)
_OWN_WORDS = (
    (
        Reason.USER_UNKNOWN,
        re.compile(r"user not listed in (?:the )?public name (?:&|and) address", re.I),
    ),
    (Reason.NETWORK_ERROR, re.compile(r"message has exceeded maximum hop count", re.I)),
)


def claims(notice: Notice) -> bool:
    return bool(_SUBJECT.search(notice.subject) and _START.search(notice.head))


def read(notice: Notice) -> Reading:
    start = _START.search(notice.body)
    if start is None:
        return Reading(NAME)
    body = notice.body[start.end() :]
    end = _END.search(body)
    findings = []
    reasons: list[str] = []
    for line in (body[: end.start()] if end else body).split("\n"):
        text = line.strip()
        if is_address(text.strip("<>")):
            done = finding(text.strip("<>"), " ".join(reasons))
            done.hint = named_cause(done.diagnostic, _OWN_WORDS)
            findings.append(done)
            reasons = []
        elif text:
            reasons.append(text)
    return Reading(NAME, findings)
