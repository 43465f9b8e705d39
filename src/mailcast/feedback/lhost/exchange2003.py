"""Exchange Server 5.5-2003: "did not reach the following recipient(s):" and MSEXCH codes.

    Your message

      To:      kijitora@example.jp
      Subject: ...

    did not reach the following recipient(s):

    kijitora@example.co.jp on Thu, 29 Apr 2007 16:51:51 -0500
        The recipient name is not recognized
        MSEXCH:IMS:KIJITORA CAT:EXAMPLE:EXCHANGE 0 (000C05A6) Unknown Recipient

The hexadecimal code in the MSEXCH line names a cause (sisimai's Lhost/Exchange2003).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, recipient_blocks
from mailcast.feedback.model import Finding

NAME = "exchange2003"
STEPS_STATED = False
_MAILER = re.compile(r"^(?:internet mail service \(|microsoft exchange server internet mail)", re.I)
_START = re.compile(r"did not reach the following recipient\(s\):", re.I)
_RECIPIENT = re.compile(rf"^\s{{0,20}}(?:.{{0,80}}smtp=)?({ADDRESS}) on\b", re.I)
_CODE = re.compile(r"MSEXCH:.{0,200}?\(([0-9A-F]{8})\)", re.I)
_CODES = {
    "000C05A6": Reason.USER_UNKNOWN,  # Unknown Recipient
    "000C0595": Reason.FILTERED,  # Ambiguous Recipient
    "00010256": Reason.SYSTEM_ERROR,  # Too many recipients
    "000D06B5": Reason.SYSTEM_ERROR,  # No proxy for recipient
    "00120270": Reason.NETWORK_ERROR,  # Too many hops
    "00050311": Reason.CONTENT_ERROR,  # Conversion to Internet format failed
    "000502CC": Reason.CONTENT_ERROR,
    "000B0981": Reason.SECURITY_ERROR,  # Server does not support AUTH
}


def claims(notice: Notice) -> bool:
    marked = bool(
        notice.raw_header("x-ms-embedded-report")
        or _MAILER.search(notice.raw_header("x-mailer"))
        or notice.raw_header("x-mimeole").startswith("Produced By Microsoft Exchange")
        or " with Internet Mail Service (" in notice.received()
    )
    return marked and bool(_START.search(notice.head))


def read(notice: Notice) -> Reading:
    start = _START.search(notice.body)
    if start is None:
        return Reading(NAME)
    found = recipient_blocks(notice.body[start.end() :], _RECIPIENT)
    return Reading(NAME, [_complete(address, lines) for address, lines in found])


def _complete(address: str, lines: list[str]) -> Finding:
    done = finding(address, " ".join(lines))
    code = _CODE.search(done.diagnostic)
    if code:
        done.hint = _CODES.get(code.group(1).upper(), "")
    return done
