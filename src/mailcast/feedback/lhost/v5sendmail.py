"""Sendmail version 5 and the appliances built on it: a bare transcript, recipients by host."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailcast.feedback import smtp
from mailcast.feedback.lhost.common import (
    ADDRESS,
    Notice,
    Reading,
    finding,
    named_cause,
    step_named,
)
from mailcast.feedback.lhost.sendmail import OWN_WORDS
from mailcast.feedback.model import Finding

# V5 (sisimai's Lhost::V5sendmail) writes no status part and no list of recipients:
#
#    ----- Transcript of session follows -----
#    While talking to mx.example.org:
#    >>> RCPT To:<kijitora@example.org>
#    <<< 550 <kijitora@example.org>... User unknown
#    550 <kijitora@example.org>... User unknown
#    421 example.org (smtp)... Deferred: Connection timed out during user open with example.org
#
#    ----- Unsent message follows -----
#
# Only lines after "While talking to <host>:" are about a recipient of that host; a
# deferral naming no one is about the returned message's recipient.

NAME = "v5sendmail"
# Each recipient is named after the command sent for it; a phrase with no step was not one.
STEPS_STATED = True
# V5 capitalises one word ("Returned mail:"); X1's "Returned Mail:" is another MTA's.
_SUBJECT = re.compile(r"^Returned mail: ")
_TRANSCRIPT = re.compile(
    r"^[ \t]{0,20}-{3,80}[ \t]{0,20}transcript of session follows[ \t]{0,20}-{3,80}", re.I | re.M
)
_UNSENT = re.compile(
    r"^[ \t]{0,20}-{3,80}[ \t]{0,20}(?:unsent message follows|no message was collected)"
    r"[ \t]{0,20}-{3,80}",
    re.I | re.M,
)
# V8 says "... while talking to host.:" and lists the recipients itself: sendmail reads it.
_V8 = re.compile(
    r"^\.\.\. while talking to |^[ \t]{0,20}-{3,80}[ \t]{0,20}the following addresses? had",
    re.I | re.M,
)
_TALKING = re.compile(r"While talking to \[?[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}")
# "550 <a@b>... User unknown", "<<< 550 <a@b>... User unknown": a verdict on one address.
_VERDICT = re.compile(rf" <({ADDRESS})>\.\.\.")
_RCPT_TO = re.compile(rf">>> rcpt to:\s{{0,20}}<?({ADDRESS})>?", re.I)
# The returned message's own "To: a@b": the recipient of a deferral that names none.
_RETURNED_TO = re.compile(rf"^to:[ \t]{{0,20}}<?({ADDRESS})>?[ \t]{{0,20}}$", re.I | re.M)


@dataclass
class _Recipient:
    address: str = ""
    command: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class _Session:
    recipients: list[_Recipient] = field(default_factory=lambda: [_Recipient()])
    host_named: bool = False
    command: str = ""  # the last command sent, until a reply about its recipient
    # Lines naming no recipient (deferrals, verdicts before any host) by how many
    # recipients were named before them: what befell the message when none is named.
    loose: dict[int, list[str]] = field(default_factory=dict)

    @property
    def named(self) -> int:
        return sum(1 for r in self.recipients if r.address)


def claims(notice: Notice) -> bool:
    return bool(
        _SUBJECT.match(notice.subject)
        and not notice.parts.delivery_status
        and _TRANSCRIPT.search(notice.head)
        and _UNSENT.search(notice.text)
        and not _V8.search(notice.head)
    )


def read(notice: Notice) -> Reading:
    start = _TRANSCRIPT.search(notice.text)
    if start is None:
        return Reading(NAME)
    end = _UNSENT.search(notice.text, start.end())
    stop = end.start() if end else len(notice.text)
    session = _Session()
    for line in notice.text[start.end() : stop].split("\n")[1:]:
        if line.strip():
            _read_line(session, line.rstrip())
    named = [r for r in session.recipients if r.address]
    if not named:
        named = _unnamed(session, notice.text[stop:])
    findings = [_finding(n, r, session) for n, r in enumerate(named)]
    return Reading(NAME, findings)


def _read_line(session: _Session, line: str) -> None:
    current = session.recipients[-1]
    if line.startswith(">>> "):
        session.command = step_named(line[4:])
    verdict = _VERDICT.search(line) or _RCPT_TO.search(line)
    if verdict is None:
        if _TALKING.search(line):
            session.host_named = True
        elif line.startswith((">>> ", "<<< ")):
            # A command and its reply: the session so far, told to the next recipient named.
            current.lines.append(line)
        else:
            session.loose.setdefault(session.named, []).append(line)
        return
    if not session.host_named:
        session.loose.setdefault(session.named, []).append(line)
        return
    address = smtp.normalize(verdict.group(1))
    if address.lower() == current.address.lower() or (
        session.command == "MAIL" and line.startswith("<<< ")
    ):
        # The same recipient again, or the reply to MAIL FROM naming the sender.
        current.lines.append(line)
        session.command = ""
        return
    if current.address:
        current = _Recipient()
        session.recipients.append(current)
    current.address = address
    current.command = current.command or session.command
    current.lines.append(line)


def _unnamed(session: _Session, returned: str) -> list[_Recipient]:
    """No recipient named after a host: the returned message's To: when no line names one.

    Verdicts naming addresses with no host named are left to the sendmail family, which
    reads each on its own (sisimai takes only the first address, with every line).
    """
    if smtp.addresses(" ".join(session.loose.get(0, []))):
        return []
    to = _RETURNED_TO.search(returned)
    if to:
        return [_Recipient(to.group(1), "", [])]
    return []


def _finding(index: int, recipient: _Recipient, session: _Session) -> Finding:
    text = " ".join(recipient.lines) or " ".join(session.loose.get(index, []))
    item = finding(recipient.address, text, recipient.command)
    # Sendmail's own words name a cause whatever code came with them ("Deferred: ...").
    item.hint = named_cause(item.diagnostic, OWN_WORDS)
    return item
