"""An MTA no one has named (sisimai's X6): "There was an error sending your mail", one line each.

    We had trouble delivering your message. Full details follow:

    Subject: 'Nyaan'
    Date: 'Thu, 29 Apr 2012 23:34:45 +0000'

    1 error(s):

    SMTP Server <mta2.example.jp> rejected recipient <kijitora@example.jp> (Error following
    RCPT command). It responded as follows: [550 5.1.1 User unknown]

The error line starts "SMTP Server <host> rejected recipient <address>" or "The following
recipients returned permanent errors: address." and names the step in its own words
("(Error following RCPT command)", "refused to accept your message (DATA)").
"""

from __future__ import annotations

import re

from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding

NAME = "x6"
# Each error line names the step it followed.
STEPS_STATED = True
_SUBJECT = re.compile(r"^there was an error sending your mail", re.I)
_START = re.compile(r"^we had trouble delivering your message\. full details follow:", re.I | re.M)
_RECIPIENT = re.compile(
    rf"^(?:smtp server <[^<>\s]{{1,255}}> rejected recipient <({ADDRESS})>"
    rf"|the following recipients returned permanent errors: <?({ADDRESS})>?)",
    re.I,
)
# Where the list ends: the note on the attached headers, or the returned message itself.
_END = re.compile(r"^the attachment contains the original mail headers", re.I | re.M)


def claims(notice: Notice) -> bool:
    return bool(_SUBJECT.search(notice.subject) and _START.search(notice.head))


def read(notice: Notice) -> Reading:
    body = notice.body
    start = _START.search(body)
    if start is None:
        return Reading(NAME)
    end = _END.search(body, start.end())
    found: list[tuple[str, list[str]]] = []
    folded = False  # the line above is an error line or its fold
    for line in body[start.end() : end.start() if end else len(body)].split("\n"):
        match = _RECIPIENT.match(line.strip())
        if match:
            found.append((match.group(1) or match.group(2), [line.strip()]))
        elif folded and line[:1] in (" ", "\t") and line.strip():
            # A long error line folded: its reply follows, indented.
            found[-1][1].append(line.strip())
        folded = bool(found) and bool(line.strip()) and (bool(match) or folded)
    return Reading(NAME, [finding(a, " ".join(lines)) for a, lines in found])
