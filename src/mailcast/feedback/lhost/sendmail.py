"""Sendmail (V8 and the older V5): the session transcript names each recipient and step.

    ----- Transcript of session follows -----
    ... while talking to mx.example.org.:
    >>> RCPT To:<kijitora@example.org>
    <<< 550 5.1.1 <kijitora@example.org>... User unknown
    550 5.1.1 <kijitora@example.org>... User unknown

Each ">>>" line is a command sent, each "<<<" line the server's reply, and a line
"NNN <address>... text" Sendmail's verdict on one recipient. V5 sends no status part, so its
transcript is the only list of recipients; V8 lists them in the status part too, and the
transcript adds the step. A reply read with no command sent answered the greeting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailcast.domain import BounceReason as Reason
from mailcast.feedback import dsn, smtp
from mailcast.feedback.lhost.common import (
    ADDRESS,
    Notice,
    Reading,
    finding,
    named_cause,
    step_named,
)
from mailcast.feedback.model import Finding

NAME = "sendmail"
# Refusals at RCPT TO are said to be so; a user-unknown phrase with no step was not one.
STEPS_STATED = True
_SUBJECT = re.compile(
    r"see transcript for details|^returned mail:|^warning: could not send|^postmaster notify",
    re.I,
)
_TRANSCRIPT = re.compile(
    r"^[ \t]{0,20}-{3,80}[ \t]{0,20}transcript of session follows[ \t]{0,20}-{3,80}", re.I | re.M
)
_TALKING = re.compile(r"^[. \t]{0,20}while talking to ", re.I)
# "550 5.1.1 <a@b>... User unknown", "<a@b>... Deferred: ...", "554 <a@b>... Remote error";
# older Sendmail (V5 and the appliances built on it) also writes "550 a@b... User unknown".
_VERDICT = re.compile(rf"^(?:[245]\d\d[ -](?:[245]\.\d{{1,3}}\.\d{{1,3}} )?)?<?({ADDRESS})>?\.\.\.")
_RCPT_TO = re.compile(rf"^>>> rcpt to:\s{{0,20}}<?({ADDRESS})>?", re.I)
# "from <a@b>" in Sendmail's own words names the sender ("Too many hops ... from <a@b>").
_SENDER_MENTION = re.compile(rf"\bfrom:?\s{{0,20}}<?{ADDRESS}>?", re.I)
# The transcript ends where the returned message, a MIME boundary or the status fields start.
_STOP = re.compile(
    r"^[ \t]{0,20}-{3,80}.{0,40}(?:message|original|unsent)|^--\S|^content-type:|^reporting-mta:",
    re.I,
)


# Sendmail's own words for what happened when no server answered (deliver.c, domain.c,
# usersmtp.c); each names a cause whatever the status code says.
OWN_WORDS = (
    (Reason.BLOCKED, re.compile(r"deferred: connection refused by ", re.I)),
    (
        Reason.EXPIRED,
        re.compile(
            r"deferred: connection timed out (?:during|with)|message could not be "
            r"delivered for \d|cannot send message for \d",
            re.I,
        ),
    ),
    (
        Reason.HOST_UNKNOWN,
        re.compile(
            r"host unknown \(name server: [^()]{1,255}: (?:host|no data) (?:not found|known)"
            r"\)",
            re.I,
        ),
    ),
    (
        Reason.NETWORK_ERROR,
        re.compile(
            r"deferred: name server: [^:]{1,255}: host name lookup failure"
            r"|deferred: no route to host|deferred: network is unreachable",
            re.I,
        ),
    ),
    # deliver.c: a local mailer (procmail, a pipe) exited with a status sendmail cannot name.
    (Reason.MAILER_ERROR, re.compile(r"unknown mailer error \d", re.I)),
)
# The queue gave up (queue.c): the network trouble met on the way is no longer the cause, as
# the status (4.4.7) says; a refusal or an unknown host still is.
_GAVE_UP = re.compile(r"message could not be delivered for \d|cannot send message for \d", re.I)


@dataclass
class _Recipient:
    address: str
    command: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class _Session:
    recipients: dict[str, _Recipient] = field(default_factory=dict)
    first_command: str = ""
    command: str = ""  # the last command sent
    replies: list[str] = field(default_factory=list)  # "<<<" lines since that command
    loose: list[str] = field(default_factory=list)  # lines naming no recipient
    senders: set[str] = field(default_factory=set)  # the MAIL From address(es)
    answered_greeting: bool = False
    last: _Recipient | None = None  # the recipient named last


def claims(notice: Notice) -> bool:
    return bool(_SUBJECT.search(notice.subject) or _TRANSCRIPT.search(notice.head))


def read(notice: Notice) -> Reading:
    start = _TRANSCRIPT.search(notice.body)
    if start is None:
        return Reading(NAME)
    session = _Session()
    for line in notice.body[start.end() :].split("\n")[1:]:
        if _STOP.match(line):
            break
        _read_line(session, line.rstrip())
    findings = [
        finding(r.address, " ".join(r.lines), r.command) for r in session.recipients.values()
    ]
    gave_up = bool(_GAVE_UP.search(" ".join(session.loose)))
    for item in findings:
        item.hint = named_cause(item.diagnostic, OWN_WORDS)
        if gave_up and item.hint == Reason.NETWORK_ERROR:
            item.hint = Reason.EXPIRED
    if not findings:
        findings = _from_loose(session) or _from_status(notice, session)
    command = session.first_command or ("CONN" if session.answered_greeting else "")
    return Reading(NAME, findings, command)


def _read_line(session: _Session, line: str) -> None:
    stripped = line.strip()
    if not stripped or _TALKING.match(line):
        return
    if stripped.startswith(">>>"):
        _sent(session, stripped)
        return
    if stripped.startswith("<<<"):
        _replied(session, stripped)
        return
    verdict = _VERDICT.match(stripped)
    if verdict and verdict.group(1).lower() not in session.senders:
        recipient = _recipient(session, verdict.group(1))
        # One reply to DATA refuses every recipient: each verdict after it carries it, and
        # the step is DATA even for a recipient whose RCPT TO was taken.
        recipient.lines += [*session.replies, stripped]
        if session.command == "DATA":
            recipient.command = "DATA"
        else:
            session.replies = []
        return
    session.loose.append(stripped)


def _sent(session: _Session, line: str) -> None:
    step = step_named(line[3:])
    session.command = step
    session.replies = []
    session.first_command = session.first_command or step
    rcpt = _RCPT_TO.match(line)
    if rcpt:
        _recipient(session, rcpt.group(1))
    elif step == "MAIL":
        session.senders |= {a.lower() for a in smtp.addresses(line)}


def _replied(session: _Session, line: str) -> None:
    if not session.command:
        session.answered_greeting = True
    session.replies.append(line[3:].strip())
    last = session.last
    refused = line[3:].strip()[:1] in ("4", "5")
    if session.command == "RCPT" and last is not None and last.command == "RCPT" and not last.lines:
        # The reply to "RCPT To:<a@b>" is about that recipient; "250 ok" says nothing of it.
        if refused:
            last.lines.append(line[3:].strip())
        session.replies = []


def _recipient(session: _Session, address: str) -> _Recipient:
    key = smtp.normalize(address).lower()
    known = session.recipients.get(key)
    if known is None:
        known = _Recipient(address, session.command)
        session.recipients[key] = known
    session.last = known
    return known


def _from_loose(session: _Session) -> list[Finding]:
    """No verdict line: the recipient named anywhere in the transcript (a V5 deferral).

    Addresses in a sender's role ("MAIL From:<a@b>", "from <a@b>") are not recipients.
    """
    text = " ".join([*session.loose, *session.replies])
    named = smtp.addresses(_SENDER_MENTION.sub(" ", text))
    found = [a for a in named if a.lower() not in session.senders]
    return [finding(found[0], text, session.command)] if found else []


def _from_status(notice: Notice, session: _Session) -> list[Finding]:
    """No address in the transcript, but Sendmail's own words ("554 5.3.0 unknown mailer error
    1"): the status part's recipients, each with that cause (as sisimai's reader takes it)."""
    text = " ".join([*session.loose, *session.replies])
    cause = named_cause(text, OWN_WORDS)
    if not cause:
        return []
    found = []
    for part in notice.parts.delivery_status:
        for recipient in dsn.parse(part).recipients:
            item = finding(recipient.address, text, session.command)
            item.hint = cause
            found.append(item)
    return found
