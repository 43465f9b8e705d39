"""An MTA no one has named (sisimai's X5): a DSN forwarded whole, inside a message/rfc822 part.

The gateway mails "To: NotificationRecipients" from "Mail Delivery Subsystem" (the From and
Subject encoded, in ISO-2022-JP) and attaches the notice it got: a multipart/report whose
message/delivery-status part names each recipient. The parts of the outer message show only
the attachment, read as the returned message; the status fields are one level further in.
"""

from __future__ import annotations

import re
from email.message import Message

from mailcast.feedback import dsn, mime
from mailcast.feedback.lhost.common import Notice, Reading

NAME = "x5"
STEPS_STATED = False
_TO = re.compile(r"notificationrecipients", re.I)
_SUBSYSTEM = re.compile(r"mail delivery subsystem", re.I)
# The forwarded notice's parts are few; a bound keeps a crafted message cheap to walk.
_MAX_PARTS = 64


def claims(notice: Notice) -> bool:
    # Two of the gateway's three marks, as sisimai's Lhost::X5 asks.
    marks = (
        bool(_TO.search(notice.header("to"))),
        bool(_SUBSYSTEM.search(notice.sender)),
        bool(_SUBSYSTEM.search(notice.subject)),
    )
    return sum(marks) >= 2


def read(notice: Notice) -> Reading:
    status = _forwarded_status(notice.message)
    if status is None:
        return Reading(NAME)
    return Reading(NAME, dsn.parse(mime.body_text(status)).recipients)


def _forwarded_status(message: Message) -> Message | None:
    """The first message/delivery-status part inside an attached message."""
    stack: list[tuple[Message, bool]] = [(message, False)]
    seen = 0
    while stack and seen < _MAX_PARTS:
        part, inside = stack.pop()
        seen += 1
        kind = part.get_content_type()
        if kind == "message/delivery-status" and inside:
            return part
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            nested = inside or kind == "message/rfc822"
            stack.extend(
                (child, nested) for child in reversed(payload) if isinstance(child, Message)
            )
    return None
