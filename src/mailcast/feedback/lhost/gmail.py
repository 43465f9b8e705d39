"""Gmail's own notices (before it sent RFC 3464 parts): indented addresses, "(state N)".

    Delivery to the following recipient failed permanently:

         kijitora@example.jp

    Technical details of permanent failure:
    Google tried to deliver your message, but it was rejected by the recipient domain. ...
    The error that the other server returned was:
    550 550 5.1.1 <kijitora@example.jp>... User Unknown (state 14).

Gmail's "(state N)" names the SMTP step it had reached, and so the cause when the reply
carries no precise status code; its own DNS messages name one too.
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.codes import status_reason
from mailcast.feedback.lhost.common import Notice, Reading, finding, is_address
from mailcast.feedback.model import Finding

NAME = "gmail"
# Refusals at RCPT TO are said to be so; a user-unknown phrase with no step was not one.
STEPS_STATED = True
_FROM = re.compile(r"mailer-daemon@(?:googlemail|google|gmail)\.com", re.I)
_START = re.compile(r"^delivery to the following recipients? ", re.I | re.M)
_END = re.compile(r"^\s{0,20}-{5} (?:original message|message header follows) -{5}", re.I | re.M)
_STATE = re.compile(r"\(state (\d{1,2})\)")
# Gmail's session states: the step reached, and the cause when no status says better.
_STATES = {
    "6": ("MAIL", Reason.FAILED_STARTTLS),
    "8": ("EHLO", Reason.SYSTEM_ERROR),
    "9": ("EHLO", Reason.FAILED_STARTTLS),
    "12": ("EHLO", Reason.NO_RELAYING),
    "13": ("EHLO", Reason.BLOCKED),
    "14": ("RCPT", Reason.USER_UNKNOWN),
    "15": ("DATA", Reason.FILTERED),
    "17": ("DATA", Reason.FILTERED),
    "18": ("DATA", Reason.FILTERED),
}
_OWN_WORDS = (
    (
        Reason.HOST_UNKNOWN,
        re.compile(r"dns error: (?:domain name not found|dns server returned answer)", re.I),
    ),
    (
        Reason.EXPIRED,
        re.compile(
            r"dns error: could not contact dns servers|has been delayed"
            r"|did not accept our requests to connect",
            re.I,
        ),
    ),
)


def claims(notice: Notice) -> bool:
    return bool(_FROM.search(notice.sender)) and bool(_START.search(notice.head))


def read(notice: Notice) -> Reading:
    start = _START.search(notice.text)
    rest = notice.text[start.start() if start else 0 :]
    end = _END.search(rest)
    found: list[tuple[str, list[str]]] = []
    preamble: list[str] = []
    for line in (rest[: end.start()] if end else rest).split("\n"):
        if line.startswith(" ") and is_address(line.strip()):
            found.append((line.strip(), []))
        elif line.strip():
            (found[-1][1] if found else preamble).append(line.strip())
    return Reading(NAME, [_complete(address, preamble + lines) for address, lines in found])


def _complete(address: str, lines: list[str]) -> Finding:
    state = _STATE.search(" ".join(lines))
    step, reason = _STATES.get(state.group(1), ("", "")) if state else ("", "")
    done = finding(address, " ".join(lines), step)
    if reason:
        # A precise status code in the reply outranks what the state implies.
        precise = done.status and ".0" not in done.status
        done.hint = (status_reason(done.status) if precise else "") or reason
    for own, pattern in _OWN_WORDS:
        if not done.hint and pattern.search(done.diagnostic):
            done.stated = own
            break
    return done
