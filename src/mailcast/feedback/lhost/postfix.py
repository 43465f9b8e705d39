"""Postfix: bounce(5) notices, and the smtpd "errors from" transcripts sent to postmaster.

A bounce notice gives one block per recipient, "<address>: text", continued on indented
lines; the step is written "(in reply to RCPT TO command)". Postfix names the step of the
session once even when several recipients share it, so the first step named stands for the
recipients whose block names none. A block with no remote reply ("said:") is Postfix's own
message ("connect to ...: No route to host", "Host or domain name not found"); those name
a cause. The smtpd transcript lists "In:"/"Out:" lines: a
recipient is the argument of RCPT TO, its verdict the next reply.
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback import smtp
from mailcast.feedback.lhost.common import Notice, Reading, finding, named_cause, step_named
from mailcast.feedback.model import Finding

NAME = "postfix"
# Refusals at RCPT TO are said to be so; a user-unknown phrase with no step was not one.
STEPS_STATED = True
_SUBJECT = re.compile(
    r"^undelivered mail returned to sender|^delayed mail \(still being retried\)"
    r"|^successful mail delivery report|^mail delivery status report"
    r"|smtp server: errors from",
    re.I,
)
_BODY = re.compile(
    r"this is the mail system at host|the postfix program|^\s{0,20}the mail system\s{0,20}$",
    re.I | re.M,
)
# "<a@b>: text", "<a@b> (expanded from <c@d>): text"; a quoted local part stays whole.
_BLOCK = re.compile(
    r"^ ?<([^<>\s]{1,200}@[^<>\s]{1,255})>"
    r"(?: \(expanded from <([^<>\s]{1,255})>\))?:\s?(.{0,4000})$"
)
_IN_REPLY = re.compile(
    r"\(in\s{1,20}reply\s{1,20}to\s{1,20}([^()]{1,40}?)(?:\s{1,20}command)?\)", re.I
)
_TRANSCRIPT_LINE = re.compile(r"^\s{0,20}(In|Out):\s{1,20}(.{0,4000})$")
_SMTPD = re.compile(r"smtp server: errors from", re.I)
_END = re.compile(r"^(?:reporting-mta|final-recipient|content-description):", re.I | re.M)
_REMOTE = re.compile(r"\bsaid:|refused to talk to me", re.I)
# What Postfix writes itself when no server answered (smtp_connect.c, smtp_proto.c, local(8),
# virtual(8)); each names a cause. A remote reply quoted after "said:" is left to the tables.
_OWN_WORDS = (
    (
        Reason.HOST_UNKNOWN,
        re.compile(
            r"host or domain name not found\. name service error for name=\S{1,255} "
            r"type=\w{1,5}: host not found(?!, try again)",
            re.I,
        ),
    ),
    (
        Reason.NETWORK_ERROR,
        re.compile(
            r"connect to \S{1,300}: (?:no route to host|network is unreachable)"
            r"|lost connection with \S{1,255} while|host not found, try again",
            re.I,
        ),
    ),
    (
        Reason.EXPIRED,
        re.compile(
            r"connect to \S{1,300}: connection timed out"
            r"|conversation with \S{1,255} timed out while",
            re.I,
        ),
    ),
    (Reason.MAILBOX_FULL, re.compile(r": disk quota exceeded|maildir (?:is )?over quota", re.I)),
    (Reason.SYSTEM_ERROR, re.compile(r"mail for \S{1,255} loops back to myself", re.I)),
)
# A command that local(8) or pipe(8) ran failed (pipe_command.c): a mailer error unless the
# command's output names a cause; its status part often keeps only that output ("x-unix; ...").
_COMMAND_FAILED = re.compile(
    r"command died with status \d|command time limit exceeded|command output:", re.I
)


def claims(notice: Notice) -> bool:
    return bool(_SUBJECT.search(notice.subject) or _BODY.search(notice.head))


def read(notice: Notice) -> Reading:
    if _SMTPD.search(notice.subject):
        return _transcript(notice.body)
    findings = _blocks(notice.body)
    said = _IN_REPLY.search(notice.body)
    command = _step(said.group(0)) if said else next((f.command for f in findings if f.command), "")
    if not command and "refused to talk to me" in notice.body:
        command = "CONN"
    return Reading(NAME, findings, command)


def _blocks(body: str) -> list[Finding]:
    blocks: list[tuple[str, str, list[str]]] = []
    for line in body.split("\n"):
        match = _BLOCK.match(line.rstrip())
        if match:
            blocks.append((match.group(1), match.group(2) or "", [match.group(3)]))
        elif blocks and blocks[-1][0] and line.strip() and not _END.match(line):
            # Continued, indented or not (some relays rewrap the notice flush left).
            blocks[-1][2].append(line.strip())
        elif blocks and (not line.strip() or _END.match(line)):
            blocks.append(("", "", []))  # a blank line closes the block
    return [
        _own(finding(address, " ".join(lines), _step(" ".join(lines)), original_recipient=alias))
        for address, alias, lines in blocks
        if address
    ]


def _own(item: Finding) -> Finding:
    if not _REMOTE.search(item.diagnostic):
        item.hint = named_cause(item.diagnostic, _OWN_WORDS)
        item.stated = Reason.MAILER_ERROR if _COMMAND_FAILED.search(item.diagnostic) else ""
    return item


def _step(text: str) -> str:
    said = _IN_REPLY.search(text)
    if said:
        words = " ".join(said.group(1).upper().split())
        if "GREETING" in words or "CONNECT" in words:
            return "CONN"
        if words.startswith("END OF"):
            return "DATA"
        return step_named(words.replace("TO", "").replace("FROM", "").strip() or words)
    return smtp.command(text)


def _transcript(body: str) -> Reading:
    """The smtpd notice: recipients are the RCPT TO arguments, verdicts the replies."""
    findings: list[Finding] = []
    step = failed_step = ""
    for line in body.split("\n"):
        match = _TRANSCRIPT_LINE.match(line)
        if not match:
            continue
        said, text = match.group(1), match.group(2).strip()
        if said == "In":
            step = step_named(text)
            address = smtp.addresses(text) if step == "RCPT" else []
            if address:
                findings.append(finding(address[0], "", "RCPT"))
            continue
        if text[:1] not in ("4", "5"):
            continue
        failed_step = failed_step or step
        target = findings[-1] if step == "RCPT" and findings else None
        for item in [target] if target else [f for f in findings if not f.diagnostic]:
            _set_reply(item, text, step)
    return Reading(NAME, [f for f in findings if f.diagnostic], failed_step)


def _set_reply(item: Finding, text: str, step: str) -> None:
    item.diagnostic = text
    item.reply_code = smtp.best_reply(text)
    item.status = smtp.best_status(text, item.reply_code)
    item.command = step
