"""Digital Arts m-FILTER: addresses alone on their lines, then the server's reply and step.

以下のメールアドレスへの送信に失敗しました。
kijitora@example.jp

-------server message
550 5.1.1 unknown user <kijitora@example.jp>

-------SMTP command
DATA
"""

from __future__ import annotations

import re

from mailcast.feedback.lhost.common import Notice, Reading, finding, is_address, step_named
from mailcast.feedback.model import Finding

NAME = "mfilter"
# Refusals at RCPT TO are said to be so; a user-unknown phrase with no step was not one.
# Recognised by its headers or structure: a notice whatever its wording.
SELF_EVIDENT = True
STEPS_STATED = True
_SERVER = "-------server message"
_COMMAND = "-------smtp command"
_END = re.compile(r"^-------original (?:message|mail info)", re.I)


def claims(notice: Notice) -> bool:
    return notice.raw_header("x-mailer").lower().startswith("m-filter") or _SERVER in notice.text


def read(notice: Notice) -> Reading:
    addresses: list[str] = []
    replies: list[str] = []
    steps: list[str] = []
    section = ""
    for raw in notice.text.split("\n"):
        line = raw.strip()
        if _END.match(line):
            break
        if line.lower() in (_SERVER, _COMMAND):
            section = line.lower()
        elif is_address(line.strip("<>")) and not section:
            # One address alone on its line, bare or in angle brackets, is a failed recipient.
            addresses.append(line.strip("<>"))
        elif line and section == _SERVER:
            replies.append(line)
            section = ""
        elif line and section == _COMMAND:
            steps.append(step_named(line))
            section = ""
    return Reading(NAME, _pair(addresses, replies, steps))


def _pair(addresses: list[str], replies: list[str], steps: list[str]) -> list[Finding]:
    """One reply (and step) per address when there are as many; else the first for all."""
    found = []
    for n, address in enumerate(addresses):
        reply = replies[n] if n < len(replies) else (replies[0] if replies else "")
        step = steps[n] if n < len(steps) else (steps[0] if steps else "")
        found.append(finding(address, reply, step))
    return found
