"""Amazon SES bounces mailed as a notice: RFC 3464 fields, in their own part or pasted as text.

SES writes one of two start lines ("The following message to <a@b> was undeliverable." or
"An error occurred while trying to deliver the mail to the following recipients:"), then a
status block per recipient, each with the remote server's reply in its Diagnostic-Code. Older
notices wrap that reply in SES's own words: "5.1.0 - Unknown address error 550-'5.1.1 ...'"
or "5.4.7 - Delivery expired (message too old) 'DNS Soft Error ...'". The wrapping code is
SES's guess; the quoted reply is the remote server's, and "Delivery expired" is SES giving
up on the queue, whatever the last error said (a DNS lookup that failed is no verdict).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback import dsn, smtp
from mailcast.feedback.lhost.common import Notice, Reading, finding
from mailcast.feedback.model import Finding

NAME = "amazon_ses"
# Recognised by SES's own headers: a notice whatever its wording.
SELF_EVIDENT = True
# SES's diagnostics seldom name the refused command: a user-unknown phrase decides by code.
STEPS_STATED = False
_START = re.compile(
    r"^(?:the following message to <|an error occurred while trying to deliver the mail )",
    re.I | re.M,
)
# "5.1.0 - Unknown address error 550-'...'": SES's code and words before the quoted reply.
_WRAPPED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3} - [^'\"]{1,80}?(?:\d{3}-)?['\"](.{1,3000})['\"]")
_EXPIRED = "delivery expired"


def claims(notice: Notice) -> bool:
    if "amazon workmail" in notice.raw_header("x-mailer").lower():
        return False  # WorkMail (SES's mailbox service) writes notices of its own
    marked = bool(notice.raw_header("x-ses-outgoing") or notice.raw_header("x-aws-outgoing"))
    return (marked or "amazonses.com" in notice.sender.lower()) and bool(_START.search(notice.head))


def read(notice: Notice) -> Reading:
    status = [r for text in notice.parts.delivery_status for r in dsn.parse(text).recipients]
    if not status:
        # The fields pasted into the text part, as relays that flatten the report leave them.
        pasted = dsn.embedded(notice.text)
        status = pasted.recipients if pasted else []
    return Reading(NAME, [_read_one(item) for item in status if item.address])


def _read_one(item: Finding) -> Finding:
    """The recipient's own reply, out of SES's wrapping; SES's expiry names the cause."""
    wrapped = _WRAPPED.match(item.diagnostic)
    one = finding(item.address, wrapped.group(1) if wrapped else item.diagnostic)
    one.action = item.action
    if not one.status:
        one.status = item.status
    if _EXPIRED in item.diagnostic.lower():
        one.hint = Reason.EXPIRED
    elif wrapped and smtp.best_status(wrapped.group(1)):
        one.status = smtp.best_status(wrapped.group(1))
    return one
