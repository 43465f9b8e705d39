"""Three layouts of MTAs no one has named (sisimai's X1, X2, X3), each with its own list.

X1: "The original message was received at ...", "---The following addresses had delivery
    errors---", then "address [reason]" per recipient, maybe with lines of detail below.
X2: "Unable to deliver message to the following address(es).", then "<address>:" and the
    reason on the lines below, up to "--- Original message follows.".
X3: "This is an automatically generated Delivery Status Notification.", "  * address" per
    recipient, then "Technical details:" with "SMTP:RCPT host ...: 550 ..." (or "Routing:",
    "Diagnostic-Code: smtp;", "Status:") lines.

X1 and X2 name no SMTP step: a reply is read as said at no known step, as sisimai reads it,
whatever words like "recipient" it holds.
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
_X1_LINE = re.compile(rf"^\s{{0,20}}({ADDRESS}) \[(.{{1,4000}})\](.{{0,1000}})$")
_X2_START = re.compile(r"^unable to deliver message to the following address", re.I | re.M)
# "<a@b>:" alone, or with the reason after it on the same line.
_X2_LINE = re.compile(rf"^<({ADDRESS})>:\s{{0,20}}(.{{0,4000}})$")
_X3_START = re.compile(
    r"^\s{0,20}this is an automatically generated delivery status notification", re.I | re.M
)
_X3_LINE = re.compile(rf"^\s{{1,4}}\* ({ADDRESS})\s{{0,20}}$")
# "SMTP:RCPT host ...: 550 ...", "Routing: Could not find a gateway for ...", or a status
# field ("Diagnostic-Code: smtp; 552 5.2.2 Over quota", "Status: 5.2.2") pasted below.
_X3_DETAIL = re.compile(r"^(?:smtp:(\w{4})\b|routing:|diagnostic-code:\s{0,20}\w{1,10};)", re.I)
_X3_FIELD = re.compile(
    r"^(final-recipient|status):\s{0,20}(?:rfc822;\s{0,20})?<?([^\s<>]{1,320})", re.I
)
# Rules between the sections ("---...---", "=====") say nothing about a recipient.
_RULE = re.compile(r"^\s{0,20}(?:-{3,80}|={3,200})")


def claims(notice: Notice) -> bool:
    head = notice.head
    return bool(_X1_START.search(head) or _X2_START.search(head) or _X3_START.search(head))


def read(notice: Notice) -> Reading:
    body = notice.body
    if _X3_START.search(body):
        return Reading(NAME, _x3(body))
    if _X2_START.search(body):
        return Reading(NAME, _stepless(_x2(body)))
    return Reading(NAME, _stepless(_x1(body)))


def _x1(body: str) -> list[Finding]:
    """Each "address [reason]" line, with the lines below it up to the next one."""
    start = _X1_START.search(body)
    found: list[tuple[str, list[str]]] = []
    for line in body[start.end() if start else 0 :].split("\n"):
        match = _X1_LINE.match(line.rstrip())
        if match:
            found.append((match.group(1), [match.group(2), match.group(3)]))
        elif found and line.strip() and not _RULE.match(line):
            found[-1][1].append(line.strip())
    return [finding(address, " ".join(lines)) for address, lines in found]


def _x2(body: str) -> list[Finding]:
    start = _X2_START.search(body)
    found: list[tuple[str, list[str]]] = []
    for line in body[start.end() if start else 0 :].split("\n")[1:]:
        match = _X2_LINE.match(line.strip())
        if match:
            found.append((match.group(1), [match.group(2)]))
        elif found and line.strip() and not _RULE.match(line):
            found[-1][1].append(line.strip())
    return [finding(address, " ".join(lines)) for address, lines in found]


def _stepless(findings: list[Finding]) -> list[Finding]:
    # The layout states no step; one guessed from the reply's words would not be sisimai's.
    for item in findings:
        item.command = ""
    return findings


def _x3(body: str) -> list[Finding]:
    found: list[Finding] = []
    details: list[tuple[str, str]] = []
    status = ""
    for line in body.split("\n"):
        text = line.strip()
        match = _X3_LINE.match(line)
        field = _X3_FIELD.match(text)
        detail = _X3_DETAIL.match(text)
        if match:
            found.append(Finding(address=smtp.normalize(match.group(1))))
        elif field and field.group(1).lower() == "status":
            status = field.group(2)
        elif field and not any(f.address.lower() == field.group(2).lower() for f in found):
            found.append(Finding(address=smtp.normalize(field.group(2))))
        elif detail:
            details.append((step_named(detail.group(1) or ""), text))
    findings = [_x3_detail(item, n, len(found), details) for n, item in enumerate(found)]
    for item in findings:
        item.status = status if status[:1] in ("4", "5") else item.status
    return findings


def _x3_detail(item: Finding, n: int, count: int, details: list[tuple[str, str]]) -> Finding:
    """A lone recipient's every detail; else the detail naming it, the Nth, or the first."""
    mine = details if count == 1 else [d for d in details if item.address.lower() in d[1].lower()]
    if not mine and len(details) == count:
        mine = [details[n]]
    mine = mine or details[:1]
    # The step of the last "SMTP:" line, as the session went on to it.
    step = next((s for s, _ in reversed(mine) if s), "")
    return finding(item.address, " ".join(text for _, text in mine), step)
