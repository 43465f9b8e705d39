"""DragonFly Mail Agent (dma): "There was an error delivering your mail to <address>."

    This is the DragonFly Mail Agent v0.13 at df.example.jp.

    There was an error delivering your mail to <kijitora@example.com>.

    mx.example.com [192.0.2.25] did not like our RCPT TO:
    552 5.2.2 <kijitora@example.com>: Recipient address rejected: Mailbox full

    Original message follows.

"did not like our X" names the step; dma's own messages carry no reply code and name a
cause (dma's dma.c and net.c).
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
    recipient_blocks,
    step_named,
)

NAME = "dragonfly"
STEPS_STATED = True
_START = re.compile(r"this is the dragonfly mail agent", re.I)
_RECIPIENT = re.compile(rf"there was an error delivering your mail to <({ADDRESS})>", re.I)
_END = re.compile(r"^\s{0,20}(?:original message follows|message headers follow)", re.I | re.M)
_STEP = re.compile(r"did not like our ([a-z]{4}(?: (?:to|from))?)", re.I)
_OWN_WORDS = (
    (Reason.HOST_UNKNOWN, re.compile(r"dns lookup failure: host \S{1,255} not found", re.I)),
    (Reason.EXPIRED, re.compile(r"could not deliver for the last \d{1,10} seconds", re.I)),
    (Reason.NETWORK_ERROR, re.compile(r"dns lookup failure", re.I)),
)


def claims(notice: Notice) -> bool:
    return bool(_START.search(notice.head) or "(DragonFly Mail Agent" in notice.received())


def read(notice: Notice) -> Reading:
    end = _END.search(notice.body)
    body = notice.body[: end.start()] if end else notice.body
    found = recipient_blocks(body, _RECIPIENT)
    findings = []
    for address, lines in found:
        text = " ".join(lines)
        said = _STEP.search(text)
        step = step_named(said.group(1)) if said else ""
        findings.append(own_message(finding(address, text, step), _OWN_WORDS))
    return Reading(NAME, findings)
