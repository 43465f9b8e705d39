"""Sun/Oracle Messaging Server (and PMDF): "Recipient address:" blocks under a fixed heading.

    Your message cannot be delivered to the following recipients:

      Recipient address: kijitora@example.jp
      Reason: Remote SMTP server has rejected address
      Diagnostic code: smtp;550 5.1.1 <kijitora@example.jp>... User Unknown
      Remote system: dns;mx.example.jp (TCP|192.0.2.1|47323|192.0.2.225|25)

"Original address:" may precede the final one. The Reason line is the server's summary of
the reply; no line names the SMTP step (sisimai's Lhost/MessagingServer).
"""

from __future__ import annotations

import re

from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding
from mailcast.feedback.model import Finding

NAME = "messagingserver"
STEPS_STATED = False
_SUBJECT = re.compile(r"^delivery notification: ", re.I)
_START = re.compile(r"this report relates to a message you sent with the following header", re.I)
_FIELD = re.compile(
    r"^\s{1,20}(recipient address|original address|reason|diagnostic code):\s{0,20}(.{0,2000})$",
    re.I,
)


def claims(notice: Notice) -> bool:
    boundary = "boundary_(id_" in notice.raw_header("content-type").lower()
    return bool(_SUBJECT.search(notice.subject) or boundary) and bool(_START.search(notice.head))


def read(notice: Notice) -> Reading:
    blocks: list[dict[str, str]] = []
    for line in notice.body.split("\n"):
        field = _FIELD.match(line.rstrip())
        if not field:
            continue
        name, value = field.group(1).lower(), field.group(2).strip()
        if name in ("recipient address", "original address"):
            address = re.search(ADDRESS, value)
            if address is None:
                continue
            if not blocks or "reason" in blocks[-1] or "diagnostic code" in blocks[-1]:
                blocks.append({})
            blocks[-1].setdefault("address", address.group(0))
            if name == "recipient address":
                blocks[-1]["address"] = address.group(0)
        elif blocks:
            blocks[-1][name] = value
    return Reading(NAME, [_complete(b) for b in blocks if b.get("address")])


def _complete(block: dict[str, str]) -> Finding:
    said = block.get("diagnostic code", "").split(";", 1)[-1]
    return finding(block["address"], f"{said} {block.get('reason', '')}".strip())
