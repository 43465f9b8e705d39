"""Trend Micro InterScan (MSS, IMSVA): "Sent <<< RCPT TO:<a>" and "Received >>> reply" lines.

    Sent <<< RCPT TO:<kijitora@example.co.jp>
    Received >>> 550 5.1.1 <kijitora@example.co.jp>... user unknown

The arrows are the reverse of Sendmail's: "<<<" is what InterScan sent, ">>>" the reply.
Its own message "Unable to deliver message to <a> (and other recipients in the same domain)"
tells an address to check (sisimai's Lhost/InterScanMSS and Lhost/TrendMicro).
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, step_named
from mailcast.feedback.model import Finding

NAME = "trendmicro"
STEPS_STATED = True
_SENDER = re.compile(r"interscan", re.I)
_SUBJECT = re.compile(
    r"^mail could not be delivered|メッセージを配信できません|メール配信に失敗しました", re.I
)
_SENT = re.compile(
    rf"(?:^sent\s{{1,10}})?<<<\s{{1,10}}([a-z]{{4}}[^<\n]{{0,20}})(?:<({ADDRESS})>)?", re.I
)
_RECEIVED = re.compile(r"(?:^received\s{1,10})?>>>\s{1,10}(\d{3}\b.{0,2000})$", re.I)
_UNABLE = re.compile(rf"unable to deliver message to <({ADDRESS})>", re.I)
_CHECK_ADDRESS = re.compile(r"please check if (?:the )?address is correct", re.I)


def claims(notice: Notice) -> bool:
    return bool(_SENDER.search(notice.sender) or _SUBJECT.search(notice.subject))


def read(notice: Notice) -> Reading:
    findings: list[Finding] = []
    step = ""
    for line in notice.body.split("\n"):
        text = line.strip()
        sent, received, unable = _SENT.search(text), _RECEIVED.search(text), _UNABLE.search(text)
        if sent:
            step = step_named(sent.group(1))
            if sent.group(2):
                findings.append(finding(sent.group(2), "", step))
        elif received and findings:
            findings[-1] = finding(findings[-1].address, received.group(1), step)
        elif received:
            address = re.search(ADDRESS, received.group(1))
            if address:
                findings.append(finding(address.group(0), received.group(1), step))
        elif unable:
            done = finding(unable.group(1), text)
            if _CHECK_ADDRESS.search(text):
                done.hint = Reason.USER_UNKNOWN
            findings.append(done)
    return Reading(NAME, _once(findings))


def _once(findings: list[Finding]) -> list[Finding]:
    """Each recipient once: InterScan's own summary line ("Unable to deliver message to <a>")
    repeats a recipient the session named; the remote server's reply is kept."""
    kept: dict[str, Finding] = {}
    for item in findings:
        key = item.address.lower()
        if key not in kept or (item.reply_code and not kept[key].reply_code):
            kept[key] = item
    return list(kept.values())
