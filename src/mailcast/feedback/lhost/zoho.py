"""Zoho Mail: one line per recipient, the address, then Zoho's words and the reply.

    This message was created automatically by mail delivery software.
    A message that you sent could not be delivered to one or more of its recipients. ...

    kijitora@example.jp Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1 <...>... User unknown

A delay or a host that never answered is written "[Status: Error, Address: <a@b>,
ResponseCode 421, , Host not reachable.]". Zoho marks its mail with an X-ZohoMail header and
names no SMTP step. Its own "Host not reachable" is the queue giving up (sisimai's
Lhost::Zoho), whatever reply code it prints beside it.
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, named_cause
from mailcast.feedback.model import Finding

NAME = "zoho"
STEPS_STATED = False
_LINE = re.compile(
    rf"^\s{{0,20}}<?({ADDRESS})>?\s{{1,20}}(.{{0,300}}error_code\s{{0,5}}:.{{0,4000}})$", re.I
)
_STATUS = re.compile(
    rf"^\s{{0,20}}\[status: [^,]{{1,40}}, address: <({ADDRESS})>,(.{{0,4000}})$", re.I
)
_OWN_WORDS = ((Reason.EXPIRED, re.compile(r"host not reachable", re.I)),)


def claims(notice: Notice) -> bool:
    return bool(notice.raw_header("x-zohomail")) and "@" in notice.body


def read(notice: Notice) -> Reading:
    found: list[tuple[str, list[str]]] = []
    open_block = False
    for line in notice.body.split("\n"):
        stripped = line.strip()
        match = _LINE.match(stripped) or _STATUS.match(stripped)
        if match:
            found.append((match.group(1), [match.group(2)]))
            open_block = True
        elif open_block and stripped and not stripped.lower().startswith("received:"):
            found[-1][1].append(stripped)  # the rest of a long line, wrapped
        else:
            open_block = False
    return Reading(NAME, [_finding(address, lines) for address, lines in found])


def _finding(address: str, lines: list[str]) -> Finding:
    item = finding(address, " ".join(lines))
    item.hint = named_cause(item.diagnostic, _OWN_WORDS)
    return item
