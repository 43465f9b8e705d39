"""Google Groups: a refused post, every refused group address in X-Failed-Recipients.

The notice is written in the sender's language and names no address in a fixed place;
X-Failed-Recipients lists each group that refused (sisimai's Lhost/GoogleGroups). The
cause is left to `providers`, which knows Google Groups' refusals.
"""

from __future__ import annotations

import re

from mailcast.feedback import smtp
from mailcast.feedback.lhost.common import Notice, Reading, finding

NAME = "googlegroups"
STEPS_STATED = False
_SENDER = re.compile(r"mailer-daemon@googlemail\.com", re.I)
_END = re.compile(r"^-{3,10} original message -{3,10}", re.I | re.M)


def claims(notice: Notice) -> bool:
    return bool(
        _SENDER.search(notice.sender)
        and notice.raw_header("x-failed-recipients")
        and "groups.google" in notice.body.lower()
    )


def read(notice: Notice) -> Reading:
    end = _END.search(notice.body)
    text = notice.body[: end.start()] if end else notice.body
    addresses = dict.fromkeys(smtp.addresses(notice.raw_header("x-failed-recipients")))
    return Reading(NAME, [finding(address, text) for address in addresses])
