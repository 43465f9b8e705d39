"""Courier MTA: "<address>:" blocks in the notice, the session below each (">>> RCPT TO").

    Your message to the following recipients cannot be delivered:

    <kijitora@example.co.jp>:
        mx.example.co.jp [192.0.2.95]:
    >>> RCPT TO:<kijitora@example.co.jp>
    <<< 550 5.1.1 <kijitora@example.co.jp>... User Unknown

The ">>>" line names the step; courieresmtp's own messages carry no reply code and name a
cause (courier/module.esmtp/esmtpclient.c, courierdsn).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import (
    ADDRESS,
    Notice,
    Reading,
    finding,
    own_message,
    step_named,
)

NAME = "courier"
STEPS_STATED = True
_FROM = re.compile(r"courier mail server at ", re.I)
_SUBJECT = re.compile(r"notice: mail delivery status\.|warning: delayed mail\.", re.I)
_BODY = re.compile(
    r"running the courier mail server|^\s{0,40}(?:undeliverable mail|delays in "
    r"delivering your message)\s{0,20}$",
    re.I | re.M,
)
_RECIPIENT = re.compile(rf"^<({ADDRESS})>:\s{{0,20}}$")
_END = re.compile(r"^-{20,}\s{0,20}$|^if your message was also sent", re.I)
_OWN_WORDS = (
    (Reason.HOST_UNKNOWN, re.compile(r"no such domain\.", re.I)),
    (Reason.SYSTEM_ERROR, re.compile(r"this domain's dns violates rfc 1035", re.I)),
    (Reason.NETWORK_ERROR, re.compile(r"dns lookup failed\.", re.I)),
)


def claims(notice: Notice) -> bool:
    return bool(
        _FROM.search(notice.sender)
        or _SUBJECT.search(notice.subject)
        or notice.raw_header("message-id").lower().startswith("<courier.")
    ) and bool(_BODY.search(notice.head))


def read(notice: Notice) -> Reading:
    found: list[tuple[str, list[str], str]] = []
    for line in notice.body.split("\n"):
        match = _RECIPIENT.match(line.strip())
        if match:
            found.append((match.group(1), [], ""))
        elif found and _END.match(line.strip()):
            found.append(("", [], ""))
        elif found and found[-1][0] and line.strip().startswith(">>>"):
            address, lines, _ = found[-1]
            found[-1] = (address, lines, step_named(line.strip()[3:]))
        elif found and found[-1][0] and line.strip():
            found[-1][1].append(line.strip().removeprefix("<<<").strip())
    findings = [
        own_message(finding(address, " ".join(lines), step), _OWN_WORDS)
        for address, lines, step in found
        if address
    ]
    return Reading(NAME, findings)
