"""MailMarshal SMTP (Trustwave Secure Email Gateway): one reason, then the recipients it hit.

    Your message:
       From:    sender@example.org
       Subject: ...

    Could not be delivered because of

    550 5.1.1 User unknown

    The following recipients were affected:
        kijitora@example.jp

The reason is written once for all the recipients listed below it (sisimai's
Lhost::MailMarshalSMTP); the gateway titles its notice 'Undeliverable Mail: "subject"'.
"""

from __future__ import annotations

import re

from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding

NAME = "mailmarshal"
STEPS_STATED = False
_SUBJECT = re.compile(r'^undeliverable mail: "', re.I)
_BECAUSE = re.compile(r"^could not be delivered because of\s{0,20}$", re.I | re.M)
_AFFECTED = re.compile(r"^the following recipients were affected:\s{0,20}$", re.I | re.M)
_RECIPIENT = re.compile(rf"^\s{{2,20}}<?({ADDRESS})>?\s{{0,20}}$")


def claims(notice: Notice) -> bool:
    return bool(_SUBJECT.search(notice.subject) and _BECAUSE.search(notice.head))


def read(notice: Notice) -> Reading:
    body = notice.body
    because, affected = _BECAUSE.search(body), _AFFECTED.search(body)
    if because is None or affected is None or affected.start() < because.end():
        return Reading(NAME)
    reason = " ".join(body[because.end() : affected.start()].split())
    addresses: list[str] = []
    for line in body[affected.end() :].split("\n")[1:]:
        match = _RECIPIENT.match(line.rstrip())
        if match:
            addresses.append(match.group(1))
        elif line.strip():
            break
    return Reading(NAME, [finding(address, reason) for address in addresses])
