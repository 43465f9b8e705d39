"""au by KDDI (EZweb): "<address>" lines or "Recipient: <address>" with the session below.

    Each of the following recipients was rejected by a remote mail server.

        Recipient: <kijitora@example.jp>
        >>> RCPT TO:<kijitora@example.jp>
        <<< 550 <kijitora@example.jp>: User unknown

The notice opens with a Japanese paragraph, then English; fixed English sentences name a
cause ("The user(s) account is disabled.", "not delivered within ..."). A refusal at RCPT
TO is the address's; "X-SPASIGN: NG" marks a refusal by au's filter (sisimai's Lhost/EZweb).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import (
    ADDRESS,
    Notice,
    Reading,
    finding,
    named_cause,
    step_named,
)

NAME = "ezweb"
STEPS_STATED = True
_SENDER = re.compile(r"postmaster@(?:ezweb\.ne\.jp|au\.com)", re.I)
_MARKS = re.compile(r"ezweb\.ne\.jp|\.au\.com\b", re.I)
_RECIPIENT = re.compile(rf"^(?:recipient:\s{{0,10}})?<({ADDRESS})>:?\s{{0,5}}(.{{0,2000}})$", re.I)
_END = re.compile(r"^-{20,}|^content-type: message/rfc822", re.I | re.M)
_OWN_WORDS = (
    (Reason.MAILBOX_FULL, re.compile(r"account is temporarily over quota", re.I)),
    (Reason.SUSPEND, re.compile(r"account is (?:disabled|temporarily limited)", re.I)),
    (Reason.EXPIRED, re.compile(r"not delivered within \d", re.I)),
)


def claims(notice: Notice) -> bool:
    marks = [
        bool(_SENDER.search(notice.sender)),
        notice.subject == "Mail System Error - Returned Mail",
        "ezweb.ne.jp (EZweb Mail) with" in notice.received(),
        bool(_MARKS.search(notice.raw_header("message-id"))),
    ]
    return sum(marks) >= 2


def read(notice: Notice) -> Reading:
    end = _END.search(notice.body)
    body = notice.body[: end.start()] if end else notice.body
    cause = named_cause(body, _OWN_WORDS)
    found: list[tuple[str, list[str], str]] = []
    for line in body.split("\n"):
        text = line.strip()
        match = _RECIPIENT.match(text)
        if match:
            found.append((match.group(1), [match.group(2)], ""))
        elif found and text.startswith(">>>"):
            address, lines, _ = found[-1]
            found[-1] = (address, lines, step_named(text[3:]))
        elif found and text.startswith("<<<"):
            found[-1][1].append(text[3:])
    findings = []
    for address, lines, step in found:
        done = finding(address, " ".join(lines), step)
        if notice.raw_header("x-spasign").strip().upper() == "NG":
            done.hint = Reason.FILTERED  # au's own filter refused the message
        elif done.command != "RCPT":
            # Refused at RCPT TO, the remote's reply decides; else the notice's own sentence.
            done.hint = cause
        findings.append(done)
    return Reading(NAME, findings)
