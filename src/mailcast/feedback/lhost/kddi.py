"""au by KDDI (dion, auone-net): "Could not be delivered to: <address>" and a cause below it.

    Your mail sent on: Thu, 29 Apr 2010 11:04:47 +0900
        Could not be delivered to: <kijitora@example.jp>
        As their mailbox is full.

The indented sentence is KDDI's own and names a cause; a header "X-SPASIGN: NG" marks a
message au's filter refused (sisimai's Lhost/KDDI).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, named_cause

NAME = "kddi"
STEPS_STATED = False
_SENDER = re.compile(r"no-reply@\S{0,60}\.dion\.ne\.jp", re.I)
_START = re.compile(r"^your mail (?:sent on|attempted to be delivered on):", re.I | re.M)
_RECIPIENT = re.compile(rf"could not be delivered to:\s{{0,10}}<({ADDRESS})>", re.I)
_OWN_WORDS = (
    (Reason.MAILBOX_FULL, re.compile(r"as their mailbox is full", re.I)),
    (Reason.NO_RELAYING, re.compile(r"due to the following smtp relay error", re.I)),
    (Reason.HOST_UNKNOWN, re.compile(r"as the remote domain doesn'?t exist", re.I)),
)


def claims(notice: Notice) -> bool:
    marked = bool(
        _SENDER.search(notice.sender)
        or notice.raw_header("reply-to").strip() == "no-reply@app.auone-net.jp"
        or re.search(r"ezweb\.ne\.jp \(|\.au\.com \(", notice.received())
    )
    return marked and bool(_START.search(notice.head))


def read(notice: Notice) -> Reading:
    found: list[tuple[str, list[str]]] = []
    for line in notice.body[_start(notice) :].split("\n"):
        match = _RECIPIENT.search(line)
        if match:
            found.append((match.group(1), []))
        elif found and line.startswith((" ", "\t")) and line.strip():
            found[-1][1].append(line.strip())
    filtered = notice.raw_header("x-spasign").strip().upper() == "NG"
    findings = []
    for address, lines in found:
        done = finding(address, " ".join(lines))
        if filtered:
            done.hint = Reason.FILTERED
        elif done.command != "RCPT":
            done.hint = named_cause(done.diagnostic, _OWN_WORDS)
        findings.append(done)
    return Reading(NAME, findings)


def _start(notice: Notice) -> int:
    start = _START.search(notice.body)
    return start.start() if start else 0
