"""Yahoo! Mail: "<address>:" then "Remote host said:" and the reply, the step in brackets.

    Sorry, we were unable to deliver your message to the following address.

    <kijitora@example.org>:
    Remote host said: 550 5.1.1 <kijitora@example.org>... User Unknown [RCPT_TO]

    --- Below this line is a copy of the message.

The step is written as a bracketed token ([RCPT_TO], [MAIL_FROM], [DATA]); a reply that
quotes the recipient's address with no token answered RCPT TO (sisimai's Lhost/Yahoo).
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
)
from mailcast.feedback.model import Finding

NAME = "yahoo"
STEPS_STATED = False
_START = re.compile(
    r"^sorry, we were unable to deliver your message to the following address(?!es)", re.I | re.M
)
_RECIPIENT = re.compile(rf"^<({ADDRESS})>:?\s{{0,20}}$")
_END = re.compile(r"^-{2,5} below this line is a copy of the message", re.I | re.M)
_TOKEN = re.compile(r"\[(RCPT_TO|MAIL_FROM|DATA|CONNECT|EHLO|HELO)\]", re.I)
_STEPS = {"RCPT_TO": "RCPT", "MAIL_FROM": "MAIL", "DATA": "DATA", "CONNECT": "CONN"}
_OWN_WORDS = (
    (Reason.NOT_ACCEPT, re.compile(r"no mx record found for domain", re.I)),
    (Reason.HOST_UNKNOWN, re.compile(r"domain name not found|no such domain", re.I)),
)


def claims(notice: Notice) -> bool:
    return bool(notice.raw_header("x-ymailisg") or _START.search(notice.head))


def read(notice: Notice) -> Reading:
    start = _START.search(notice.body)
    if start is None:
        return Reading(NAME)
    body = notice.body[start.end() :]
    end = _END.search(body)
    found = recipient_blocks(body[: end.start()] if end else body, _RECIPIENT)
    return Reading(NAME, [_complete(address, lines) for address, lines in found])


def _complete(address: str, lines: list[str]) -> Finding:
    text = " ".join(lines)
    token = _TOKEN.search(text)
    step = _STEPS.get(token.group(1).upper(), "EHLO") if token else ""
    done = finding(address, _TOKEN.sub(" ", text), step)
    if not done.command and re.search(rf"<{ADDRESS}>", done.diagnostic):
        done.command = "RCPT"
    return own_message(done, _OWN_WORDS)
