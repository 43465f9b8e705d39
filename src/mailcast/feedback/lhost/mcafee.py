"""McAfee Email Gateway (formerly MxLogic's appliance): "had delivery problems" lists.

    --- The following addresses had delivery problems ---
    <kijitora@example.jp>   (<kijitora@example.jp>... User not exist)

The appliance marks its mail with an X-NAI-Header; each recipient is on its line with the
remote server's reply in parentheses. It names no SMTP step.
"""

from __future__ import annotations

import re

from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding

NAME = "mcafee"
# Recognised by its headers or structure: a notice whatever its wording.
SELF_EVIDENT = True
# Refusals at RCPT TO are said to be so; a user-unknown phrase with no step was not one.
STEPS_STATED = True
_START = re.compile(r"-{2,10} ?the following addresses had delivery problems ?-{2,10}", re.I)
_LINE = re.compile(rf"^\s{{0,20}}<?({ADDRESS})>?\s{{1,40}}\((.{{1,4000}})\)\s{{0,20}}$")


def claims(notice: Notice) -> bool:
    return "mcafee" in notice.raw_header("x-nai-header").lower() and bool(
        _START.search(notice.head)
    )


def read(notice: Notice) -> Reading:
    start = _START.search(notice.text)
    lines = notice.text[start.end() if start else 0 :].split("\n")
    found = [match for line in lines if (match := _LINE.match(line.rstrip()))]
    return Reading(NAME, [finding(m.group(1), m.group(2)) for m in found])
