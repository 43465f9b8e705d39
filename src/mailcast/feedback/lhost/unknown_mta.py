"""Three layouts of MTAs no one has named (sisimai's X1, X2, X3), each with its own list.

X1: "The original message was received at ...", then "address [reason]" per recipient.
X2: "Unable to deliver message to the following address(es).", then "<address>:" and the
    reason on the lines below.
X3: "This is an automatically generated Delivery Status Notification.", "  * address" per
    recipient, then "Technical details:" with "SMTP:RCPT host ...: 550 ..." (or "Routing:",
    "Diagnostic-Code: smtp;") lines.
"""

from __future__ import annotations

import re

from mailcast.feedback import smtp
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, step_named
from mailcast.feedback.model import Finding

NAME = "unknown_mta"
# Refusals at RCPT TO are said to be so; a user-unknown phrase with no step was not one.
STEPS_STATED = True
_X1_START = re.compile(r"^the original message was received at ", re.I | re.M)
_X1_LINE = re.compile(rf"^\s{{0,20}}({ADDRESS}) \[(.{{1,4000}})\]\s{{0,20}}$")
_X2_START = re.compile(r"^unable to deliver message to the following address", re.I | re.M)
_X2_LINE = re.compile(rf"^<({ADDRESS})>:\s{{0,20}}(.{{0,4000}})$")
_X3_START = re.compile(
    r"^\s{0,20}this is an automatically generated delivery status notification", re.I | re.M
)
_X3_LINE = re.compile(rf"^\s{{1,4}}\* ({ADDRESS})\s{{0,20}}$")
# "SMTP:RCPT host ...: 550 ...", "Routing: Could not find a gateway for ...", or a status
# field's "Diagnostic-Code: smtp; 552 5.2.2 Over quota" (sisimai's Lhost::X3).
_X3_DETAIL = re.compile(r"^(?:smtp:(\w{4})\b|routing:|diagnostic-code: smtp;)(.{0,4000})$", re.I)
_END = re.compile(r"^-{2,80}.{0,10}original message|^={10,200}\s{0,20}$", re.I | re.M)


def claims(notice: Notice) -> bool:
    head = notice.head
    return bool(_X1_START.search(head) or _X2_START.search(head) or _X3_START.search(head))


def read(notice: Notice) -> Reading:
    body = notice.body
    if _X3_START.search(body):
        return Reading(NAME, _x3(body))
    if _X2_START.search(body):
        return Reading(NAME, _x2(body))
    return Reading(NAME, _x1(body))


def _x1(body: str) -> list[Finding]:
    found = [_X1_LINE.match(line) for line in body.split("\n")]
    return [finding(m.group(1), m.group(2)) for m in found if m]


def _x2(body: str) -> list[Finding]:
    start = _X2_START.search(body)
    found: list[Finding] = []
    for line in body[start.end() if start else 0 :].split("\n"):
        match = _X2_LINE.match(line.strip())
        if match:
            found.append(finding(match.group(1), match.group(2)))
        elif found and line.strip():
            _append(found[-1], line.strip())
    return found


def _x3(body: str) -> list[Finding]:
    found: list[Finding] = []
    details: list[tuple[str, str]] = []
    for line in body.split("\n"):
        match = _X3_LINE.match(line)
        detail = _X3_DETAIL.match(line.strip())
        if match:
            found.append(Finding(address=smtp.normalize(match.group(1))))
        elif detail:
            details.append((step_named(detail.group(1) or ""), line.strip()))
    return [_x3_detail(item, n, len(found), details) for n, item in enumerate(found)]


def _x3_detail(item: Finding, n: int, count: int, details: list[tuple[str, str]]) -> Finding:
    """The detail naming the recipient; else the Nth of as many; else the first."""
    mine = [d for d in details if item.address.lower() in d[1].lower()]
    if not mine and len(details) == count:
        mine = [details[n]]
    step, text = (mine or details or [("", "")])[0]
    return finding(item.address, text, step)


def _append(item: Finding, line: str) -> None:
    updated = finding(item.address, f"{item.diagnostic} {line}", item.command)
    item.diagnostic, item.reply_code, item.status = (
        updated.diagnostic,
        updated.reply_code,
        updated.status,
    )
    item.command = updated.command
