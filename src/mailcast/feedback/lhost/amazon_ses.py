"""Amazon SES notifications mailed as JSON (an SNS e-mail subscription, or SES's own).

The body is the notification, or an SNS envelope whose "Message" holds it as a string.
A bounce lists every recipient under bouncedRecipients with its own status and diagnostic;
a complaint lists complainedRecipients; a delivery lists recipients. The bounce sub-type
names a cause when the diagnostic names none (AWS's notification-contents documentation).
"""

from __future__ import annotations

import json
import re
from typing import Any

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import Notice, Reading, finding
from mailcast.feedback.model import Finding

NAME = "amazon_ses"
# Refusals at RCPT TO are said to be so; a user-unknown phrase with no step was not one.
# Recognised by its headers or structure: a notice whatever its wording.
SELF_EVIDENT = True
STEPS_STATED = True
_MARK = re.compile(r"\"?notificationType\"?\s{0,20}\\?\"?\s{0,20}:|\"eventType\"\s{0,20}:")
# Only these sub-types name one cause; ContentRejected and AttachmentRejected cover a spam
# filter, a policy, a virus scanner... so the diagnostic decides (as sisimai reads them).
# SES's own suppression lists name the cause too: SES did not even try (as the webhook reads).
_SUBTYPE_REASONS = {
    "mailboxfull": Reason.MAILBOX_FULL,
    "messagetoolarge": Reason.MESG_TOO_BIG,
    "suppressed": Reason.SUPPRESSED,
    "onaccountsuppressionlist": Reason.SUPPRESSED,
}
_SUBTYPE_FALLBACK = {"noemail": Reason.USER_UNKNOWN}


def claims(notice: Notice) -> bool:
    return bool(_MARK.search(notice.text[:20000]))


def read(notice: Notice) -> Reading:
    payload = _payload(notice.text)
    kind = str(payload.get("notificationType") or payload.get("eventType") or "").lower()
    if kind == "bounce":
        return Reading(NAME, _bounced(_obj(payload.get("bounce"))))
    if kind == "complaint":
        return Reading(NAME, _complained(_obj(payload.get("complaint"))), kind="arf")
    if kind == "delivery":
        return Reading(NAME, _delivered(_obj(payload.get("delivery"))))
    return Reading(NAME)


def _payload(text: str) -> dict[str, Any]:
    """The notification object, unwrapped from its SNS envelope when it has one."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return {}
    data = _json(text[start : end + 1]) or _first_object(text[start:])
    if isinstance(data, dict) and isinstance(data.get("Message"), str):
        data = _json(data["Message"])
    return data if isinstance(data, dict) else {}


def _json(text: str) -> object:
    """JSON as mailed: some relays fold long lines, leaving "!" and a newline in the text."""
    for candidate in (text, text.replace("\r", "").replace("!\n ", "")):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return {}


def _first_object(text: str) -> object:
    """The object the body starts with, when text after it holds braces of its own."""
    try:
        return json.JSONDecoder().raw_decode(text.replace("!\n ", "").replace("\r", ""))[0]
    except ValueError:
        return {}


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _bounced(bounce: dict[str, Any]) -> list[Finding]:
    subtype = str(bounce.get("bounceSubType") or "").lower()
    found = []
    for item in map(_obj, _items(bounce.get("bouncedRecipients"))):
        diagnostic = str(item.get("diagnosticCode") or "")
        kind, sep, text = diagnostic.partition(";")
        one = finding(str(item.get("emailAddress") or ""), text if sep else diagnostic)
        one.diagnostic_type = kind.strip().lower() if sep else ""
        one.action = str(item.get("action") or "failed").lower()
        one.status = str(item.get("status") or "") or one.status
        one.hint = _SUBTYPE_REASONS.get(subtype, "")
        one.stated = _SUBTYPE_FALLBACK.get(subtype, "")
        if subtype == "general" and not one.diagnostic:
            # "General" names nothing: what the diagnostic says decides, when there is one.
            one.stated = Reason.ON_HOLD
        found.append(one)
    return [f for f in found if f.address]


def _complained(complaint: dict[str, Any]) -> list[Finding]:
    feedback_type = str(complaint.get("complaintFeedbackType") or "abuse").lower()
    return [
        Finding(
            address=str(item.get("emailAddress") or ""),
            hint=Reason.FEEDBACK,
            feedback_type=feedback_type,
            diagnostic=feedback_type,
        )
        for item in map(_obj, _items(complaint.get("complainedRecipients")))
        if item.get("emailAddress")
    ]


def _delivered(delivery: dict[str, Any]) -> list[Finding]:
    response = str(delivery.get("smtpResponse") or "")
    found = []
    for address in _items(delivery.get("recipients")):
        one = finding(str(address), response)
        one.action = "delivered"
        found.append(one)
    return [f for f in found if f.address]
