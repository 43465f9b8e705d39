"""OpenSMTPD: one "address: text" line per recipient under the MAILER-DAEMON's greeting.

    This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.
    An error has occurred while attempting to deliver a message for
    the following list of recipients:

    kijitora@example.jp: 550 5.2.2 <kijitora@example.jp>... Mailbox Full

    Below is a copy of the original message:

A remote reply keeps its reply code; the messages smtpd writes itself (mta.c, lka, the
scheduler) carry none and each names a cause (OpenSMTPD's bounce.c and mta.c).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, own_message

NAME = "opensmtpd"
STEPS_STATED = False
_START = re.compile(r"this is the mailer-daemon, please do not reply to this", re.I)
_SUBJECT = re.compile(r"^delivery status notification", re.I)
_LINE = re.compile(rf"^\s{{0,4}}<?({ADDRESS})>?:\s{{1,20}}(.{{1,2000}})$")
_END = re.compile(r"^\s{0,20}below is a copy of the original message", re.I | re.M)
_OWN_WORDS = (
    (Reason.HOST_UNKNOWN, re.compile(r"domain does not exist|invalid domain name", re.I)),
    (Reason.NOT_ACCEPT, re.compile(r"no mx found for (?:domain|destination)", re.I)),
    (
        Reason.NETWORK_ERROR,
        re.compile(
            r"network error on destination mxs|temporary failure in mx lookup"
            r"|no valid route to (?:remote )?mx|loop detected|error while connecting",
            re.I,
        ),
    ),
    (Reason.SECURITY_ERROR, re.compile(r"could not retrieve credentials", re.I)),
    (Reason.SYSTEM_ERROR, re.compile(r"could not retrieve source address", re.I)),
    (Reason.EXPIRED, re.compile(r"envelope expired", re.I)),
)


def claims(notice: Notice) -> bool:
    return bool(_START.search(notice.head)) and bool(
        _SUBJECT.search(notice.subject) or "(OpenSMTPD)" in notice.received()
    )


def read(notice: Notice) -> Reading:
    start = _START.search(notice.body)
    body = notice.body[start.end() if start else 0 :]
    end = _END.search(body)
    findings = []
    for line in (body[: end.start()] if end else body).split("\n"):
        match = _LINE.match(line.rstrip())
        if match:
            findings.append(own_message(finding(match.group(1), match.group(2)), _OWN_WORDS))
    return Reading(NAME, findings)
