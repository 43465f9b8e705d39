"""Correlation hints: what in a feedback message points back to the message mailcast sent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from mailcast.feedback import mime

_BODY_MESSAGE_ID = re.compile(r"^[ \t>]{0,20}message-id:[ \t]{0,20}(<[^<>\s]{1,250}>)", re.I | re.M)
_BODY_TO = re.compile(r"^[ \t>]{0,20}to:[ \t]{0,20}(.{1,300})$", re.I | re.M)
_BODY_MAILCAST = re.compile(
    r"^[ \t>]{0,20}(x-mailcast-[a-z0-9-]{1,40}):[ \t]{0,20}(.{0,300})$", re.I | re.M
)
_ENVID = re.compile(r"^[ \t]{0,20}original-envelope-id:[ \t]{0,20}(\S{1,250})", re.I | re.M)


@dataclass
class Hints:
    envid: str = ""
    message_id: str = ""
    original_to: str = ""
    mailcast_headers: dict[str, str] = field(default_factory=dict)


def find(parts: mime.Parts, returned_text: str, envid: str, status_message_id: str) -> Hints:
    """Hints from the returned headers first, then the status fields, then the notice text.

    `returned_text` is the notice from where the returned message starts: MTAs that send
    plain text paste the original's headers there.
    """
    hints = Hints(envid=envid)
    if parts.returned is not None:
        _from_headers(hints, parts.returned)
    if not hints.envid:
        hints.envid = _first(_ENVID, "\n".join(parts.delivery_status)).strip("<>")
    hints.message_id = (
        hints.message_id or status_message_id or _first(_BODY_MESSAGE_ID, returned_text)
    )
    hints.original_to = hints.original_to or _first(_BODY_TO, returned_text).strip()
    for match in _BODY_MAILCAST.finditer(returned_text):
        hints.mailcast_headers.setdefault(match.group(1).lower(), match.group(2).strip())
    return hints


def _from_headers(hints: Hints, returned: Message) -> None:
    hints.message_id = mime.header(returned, "message-id")
    hints.original_to = mime.header(returned, "to")
    for name in returned:
        lowered = name.lower()
        if lowered.startswith("x-mailcast-"):
            hints.mailcast_headers.setdefault(lowered, mime.header(returned, name))


def _first(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group(1) if match else ""
