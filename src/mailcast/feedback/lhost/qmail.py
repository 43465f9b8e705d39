"""qmail and its clones: "<address>:" on its own line, qmail-remote's words below it.

    <kijitora@example.jp>:
    192.0.2.153 does not like recipient.
    Remote host said: 550 5.1.1 <kijitora@example.jp>... User Unknown
    Giving up on 192.0.2.153.

qmail-remote names the step in its own words ("does not like recipient", "failed on DATA
command", "failed after I sent the message", "but sender was rejected"); qmail-local and
qmail-send write fixed messages that name a cause (qmail-1.03 sources, qmail-ldap patch).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, recipient_blocks
from mailcast.feedback.model import Finding

NAME = "qmail"
# Refusals at RCPT TO are said to be so; a user-unknown phrase with no step was not one.
STEPS_STATED = True
_SUBJECT = re.compile(r"^failure notice$", re.I)
# Yahoo's "Sorry, we were unable to deliver your message" looks alike but is Yahoo's own.
# The clones (sisimai's X4) open with their own sentence; the list below it is qmail's.
# "Unable to deliver message to the following address(es)." alone is X2's (unknown_mta).
_START = re.compile(
    r"this is the qmail|unable to deliver your message to the following addresses"
    r"|your message to the following addresses|unfortunately, your mail was not delivered"
    r"|your mail message to the following address|this is the mail delivery agent at"
    r"|this is the machine generated message from mail service|su mensaje no pudo ser entregado"
    r"|^we'?re sorry\.|he/her is not ",
    re.I | re.M,
)
# X4's "Unable to deliver message to the following address(es)." is X2's sentence too: the
# clone's own only when X2's marks (a MAILER-DAEMON@ sender, its subjects) are absent.
_X2_START = re.compile(r"^unable to deliver message to the following address", re.I | re.M)
_X2_SENDER = re.compile(r"mailer-daemon@", re.I)
_X2_SUBJECT = re.compile(r"^(?:delivery failure|failure delivery|failed delivery)", re.I)
_RECIPIENT = re.compile(rf"^<({ADDRESS})>:\s{{0,20}}$")
_END = re.compile(
    r"^--- (?:below|enclosed)|^--- mensaje original|^original message follows", re.I | re.M
)
# Messages qmail writes itself; each names a cause.
_OWN_WORDS = (
    (Reason.HOST_UNKNOWN, re.compile(r"sorry, i couldn'?t find any host ", re.I)),
    (Reason.MAILBOX_FULL, re.compile(r"disk quota exceeded", re.I)),
    (Reason.MESG_TOO_BIG, re.compile(r"message size exceeds fixed maximum message size", re.I)),
    (
        Reason.NETWORK_ERROR,
        re.compile(
            r"sorry, i wasn'?t able to establish an smtp connection"
            r"|although i'?m listed as a best-preference mx",
            re.I,
        ),
    ),
    (Reason.NOT_ACCEPT, re.compile(r"couldn'?t find a mail exchanger or ip address", re.I)),
    (Reason.SUSPEND, re.compile(r"mailaddress is administrativ\w{0,3}ly disabled", re.I)),
    (Reason.EXCEED_LIMIT, re.compile(r"exee?ded the maximum size the user accepts", re.I)),
    (
        Reason.SYSTEM_ERROR,
        re.compile(
            r"bad interpreter: no such file|system error|ldap (?:server|attribute|lookup)"
            r"|homedir creat|while executing qmail-forward|too many results returned",
            re.I,
        ),
    ),
    # Last: qmail-send gives up on whatever the cause was; a named cause comes first.
    (Reason.EXPIRED, re.compile(r"this message has been in the queue too long", re.I)),
)


def claims(notice: Notice) -> bool:
    return bool(_SUBJECT.search(notice.subject) or "(qmail " in notice.received()) and bool(
        _START.search(notice.head) or _clone_of_x2(notice)
    )


def _clone_of_x2(notice: Notice) -> bool:
    return bool(
        _X2_START.search(notice.head)
        and not _X2_SENDER.search(notice.sender)
        and not _X2_SUBJECT.search(notice.subject)
    )


def read(notice: Notice) -> Reading:
    start = _START.search(notice.head) or _X2_START.search(notice.head)
    body = notice.body[start.end() if start else 0 :]
    end = _END.search(body)
    found = recipient_blocks(body[: end.start()] if end else body, _RECIPIENT)
    return Reading(NAME, [_complete(address, lines) for address, lines in found])


def _complete(address: str, lines: list[str]) -> Finding:
    done = finding(address, " ".join(lines))
    for reason, pattern in _OWN_WORDS:
        # "does not like recipient" with an expiry: the remote's words must decide.
        if pattern.search(done.diagnostic) and not (
            reason == Reason.EXPIRED and done.command == "RCPT"
        ):
            done.stated = reason
            break
    return done
