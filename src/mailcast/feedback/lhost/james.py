"""Apache James: the error above "Message details:", each recipient as "RCPT TO:" below it.

Error message below:
550 - Requested action not taken: no such user here

Message details:
  Subject: Nyaaan
  MAIL FROM: shironeko@example.jp
  RCPT TO: kijitora@example.org
             shironeko@example.org

James (AbstractNotify) writes the first recipient after "RCPT TO:" and each further one alone
on an indented line below it; a relay that strips indentation leaves "RCPT TO:" flush left.
"""

from __future__ import annotations

import re

from mailcast.feedback import smtp
from mailcast.feedback.lhost.common import Notice, Reading, finding

NAME = "james"
# Refusals at RCPT TO are said to be so; a user-unknown phrase with no step was not one.
# Recognised by its headers or structure: a notice whatever its wording.
SELF_EVIDENT = True
STEPS_STATED = True
_DETAILS = re.compile(r"^message details:", re.I | re.M)
_RCPT = re.compile(r"^[ \t]{0,20}rcpt to:[ \t]{0,20}(.{1,4000})$", re.I)
# The detail fields after the recipients ("From:", "Size (in bytes):") end the list.
_FIELD = re.compile(r"^[ \t]{0,20}[\w ()-]{1,40}:")
_PREAMBLE = re.compile(
    r"^.{0,80}(?:error message below|mail delivery failure)[^\n]{0,200}$", re.I | re.M
)


def claims(notice: Notice) -> bool:
    return (
        notice.subject.strip() == "[BOUNCE]"
        or ".JavaMail." in notice.raw_header("message-id")
        or "JAMES SMTP Server" in notice.received()
    )


def read(notice: Notice) -> Reading:
    details = _DETAILS.search(notice.text)
    if details is None:
        return Reading(NAME)
    error = _PREAMBLE.sub(" ", notice.text[: details.start()])
    recipients = _recipients(notice.text[details.end() : details.end() + 20000])
    return Reading(NAME, [finding(address, error) for address in dict.fromkeys(recipients)])


def _recipients(details: str) -> list[str]:
    """Every address of the RCPT TO field, its continuation lines included."""
    found: list[str] = []
    listing = False
    for line in details.split("\n"):
        match = _RCPT.match(line)
        if match:
            found += smtp.addresses(match.group(1))
            listing = True
        elif listing and line.strip() and not _FIELD.match(line):
            found += smtp.addresses(line)
        else:
            listing = False
    return found
