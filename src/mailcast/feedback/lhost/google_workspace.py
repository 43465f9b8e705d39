"""Google Workspace relaying for a domain: a "** ... **" notice with no status fields at all.

    ** Address not found **

    Your message wasn't delivered to kijitora@example.jp because the address couldn't be
    found. Check for typos or unnecessary spaces and try again.

    The response from the remote server was:
    550 5.1.1 <kijitora@example.jp>: User unknown

Without a message/delivery-status part the recipient is the one the text names, else the
returned message's To: (sisimai's Lhost::GoogleWorkspace); Google's own "address couldn't
be found" names the cause whatever words the remote server used.
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback import mime
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, is_address

NAME = "google_workspace"
STEPS_STATED = False
_FROM = re.compile(r"<?mailer-daemon@googlemail\.com>?", re.I)
_SUBJECT = re.compile(r"delivery status notification", re.I)
_START = re.compile(r"^\*\* [^\n]{1,200}\*\*\s{0,20}$", re.M)
_DELIVERED_TO = re.compile(rf"wasn'?t delivered to <?({ADDRESS})>?", re.I)
_NOT_FOUND = re.compile(
    r"because the address couldn'?t be found\.\s{1,20}check for typos or unnecessary spaces", re.I
)


def claims(notice: Notice) -> bool:
    return (
        not notice.parts.delivery_status
        and bool(_FROM.search(notice.sender) and _SUBJECT.search(notice.subject))
        and bool(_START.search(notice.head))
    )


def read(notice: Notice) -> Reading:
    start = _START.search(notice.body)
    if start is None:
        return Reading(NAME)
    text = notice.body[start.start() :]
    named = _DELIVERED_TO.search(text)
    address = named.group(1) if named else _returned_to(notice)
    if not address:
        return Reading(NAME)
    done = finding(address, text)
    if _NOT_FOUND.search(text):
        done.hint = Reason.USER_UNKNOWN
    return Reading(NAME, [done])


def _returned_to(notice: Notice) -> str:
    """The returned message's one To: address; several name no single recipient."""
    returned = notice.parts.returned
    value = mime.header(returned, "to").strip() if returned is not None else ""
    value = value.rsplit("<", 1)[-1].rstrip(">").strip()
    return value if is_address(value) else ""
