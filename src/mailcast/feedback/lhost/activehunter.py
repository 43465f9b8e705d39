"""TransWARE Active!hunter: ">>> address <address>" per recipient, the reply under it.

      ----- The following addresses had permanent fatal errors -----

    >>> kijitora@example.org <kijitora@example.org>

      ----- Transcript of session follows -----
    550 sorry, no mailbox here by that name (#5.1.1 - chkusr)

The layout borrows Sendmail's rules, but ">>>" opens a recipient, not a command sent, and
no step is named (sisimai's Lhost::Activehunter); the gateway marks its notices with an
X-AHMailID header.
"""

from __future__ import annotations

import re

from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding

NAME = "activehunter"
STEPS_STATED = False
SELF_EVIDENT = True
_START = re.compile(r"^\s{0,4}-{5} the following addresses had permanent fatal errors", re.I | re.M)
_RECIPIENT = re.compile(rf"^>>>[ \t]+\S.{{0,320}}<({ADDRESS})>\s{{0,20}}$")
# The first line of words below a recipient is the reply; rules and blank lines are not.
_REPLY = re.compile(r"^[0-9A-Za-z]")


def claims(notice: Notice) -> bool:
    return bool(notice.raw_header("x-ahmailid")) and bool(_START.search(notice.head))


def read(notice: Notice) -> Reading:
    start = _START.search(notice.body)
    if start is None:
        return Reading(NAME)
    found: list[tuple[str, str]] = []
    for line in notice.body[start.end() :].split("\n")[1:]:
        match = _RECIPIENT.match(line.strip())
        if match:
            found.append((match.group(1), ""))
        elif found and not found[-1][1] and _REPLY.match(line):
            found[-1] = (found[-1][0], line.strip())
    return Reading(NAME, [finding(address, reply) for address, reply in found])
