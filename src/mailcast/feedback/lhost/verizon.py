"""Verizon Wireless: its SMS (vtext.com) and MMS (vzwpix.com) gateways' own notices.

    vtext.com                                   vzwpix.com
    Error: ...                                  Message could not be delivered to mobile.
    550 - Requested action not taken: ...       Error: No valid recipients for this MM
    Message details:                            Original Message:
      MAIL FROM: sender@example.org             From: sender <sender@example.org>
      RCPT TO: 5551234567@vtext.com             To: 5551234567@vzwpix.com

The recipient is the "RCPT TO:" (or the returned "To:") line; each gateway's fixed message
for an unknown number is a user unknown (sisimai's Lhost::Verizon).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, named_cause

NAME = "verizon"
# Recognised by its headers: a notice whatever its wording.
SELF_EVIDENT = True
STEPS_STATED = False
_RECIPIENT = re.compile(
    rf"^\s{{0,4}}(?:rcpt to|to):\s{{0,20}}(?:.{{0,200}}<)?({ADDRESS})>?\s{{0,20}}$", re.I
)
_ERROR = re.compile(r"^\s{0,4}(?:error:\s{0,20}(.{1,1000})|(\d{3} - .{1,1000}))$", re.I)
_OWN_WORDS = (
    (
        Reason.USER_UNKNOWN,
        re.compile(
            r"requested action not taken: no such user here|no valid recipients for this mm",
            re.I,
        ),
    ),
)


def claims(notice: Notice) -> bool:
    sender = notice.sender.lower()
    if "post_master@vtext.com" not in sender and not (
        "sysadmin@" in sender and ".vzwpix.com" in sender
    ):
        return False
    return ".vtext.com" in notice.received().lower()


def read(notice: Notice) -> Reading:
    addresses: list[str] = []
    errors: list[str] = []
    for line in notice.text.split("\n"):
        line = line.rstrip()
        recipient = _RECIPIENT.match(line)
        if recipient:
            addresses.append(recipient.group(1))
            continue
        error = _ERROR.match(line)
        if error:
            errors.append(error.group(1) or error.group(2))
    diagnostic = " ".join(errors)
    findings = [finding(address, diagnostic) for address in dict.fromkeys(addresses)]
    for item in findings:
        item.hint = named_cause(item.diagnostic, _OWN_WORDS)
    return Reading(NAME, findings)
