"""IBM (Lotus) Domino: "was not delivered to:" and "because:", each above an indented line.

    Your message

      Subject: Test Bounce

    was not delivered to:

      kijitora@example.net

    because:

      User some.name (kijitora@example.net) not listed in Domino Directory

The server's own sentences name the cause whatever the reply code (sisimai's Lhost::Domino);
the subject starts "DELIVERY FAILURE:".
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Causes, Notice, Reading, finding, named_cause
from mailcast.feedback.model import Finding

NAME = "domino"
STEPS_STATED = False
_SUBJECT = re.compile(r"^delivery failure:", re.I)
_START = re.compile(r"^your message\s{0,20}$", re.I | re.M)
_NOT_DELIVERED = re.compile(r"^was not delivered to:\s{0,20}$", re.I)
_BECAUSE = re.compile(r"^because:\s{0,20}$", re.I)
_ADDRESS_LINE = re.compile(rf"^\s{{1,20}}<?({ADDRESS})>?\s{{0,20}}$")
_CAUSES: Causes = (
    (
        Reason.USER_UNKNOWN,
        re.compile(
            r"not listed in (?:the )?domino directory|not listed in public name & address book"
            r"|domino ディレクトリには見つかりません",
            re.I,
        ),
    ),
    (Reason.FILTERED, re.compile(r"cannot route mail to user", re.I)),
    (Reason.SYSTEM_ERROR, re.compile(r"several matches found in domino directory", re.I)),
)


def claims(notice: Notice) -> bool:
    return bool(_SUBJECT.search(notice.subject) and _START.search(notice.head))


def read(notice: Notice) -> Reading:
    start = _START.search(notice.body)
    if start is None:
        return Reading(NAME)
    found: list[tuple[str, str]] = []
    expecting = ""  # "address" after "was not delivered to:", "reason" after "because:"
    for line in notice.body[start.end() :].split("\n"):
        text = line.strip()
        if not text:
            continue
        if _NOT_DELIVERED.match(text):
            expecting = "address"
        elif _BECAUSE.match(text):
            expecting = "reason"
        elif expecting == "address" and _ADDRESS_LINE.match(line):
            found.append((text.strip("<>"), ""))
            expecting = ""
        elif expecting == "reason" and found:
            found[-1] = (found[-1][0], text)
            expecting = ""
    return Reading(NAME, [_complete(address, reason) for address, reason in found])


def _complete(address: str, reason: str) -> Finding:
    done = finding(address, reason)
    done.hint = named_cause(reason, _CAUSES)
    return done
