"""Raw feedback mail into a Report: its kind, each recipient classified, correlation hints."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from email.message import Message
from pathlib import Path
from typing import Any

from mailcast.feedback import (
    arf,
    autoreply,
    classify,
    detect,
    dsn,
    flat_report,
    formats,
    hints,
    lhost,
    merge,
    mime,
    providers,
    rhost,
    smtp,
)
from mailcast.feedback.model import Finding, RecipientResult, Report

__all__ = ["FileReport", "RecipientResult", "Report", "parse_files", "parse_report"]

MAX_DIAGNOSTIC = 1000
_RECIPIENT_HEADERS = ("x-failed-recipients",)
_RETURNED_HEADERS = ("to", "cc")
# The To: of an original pasted after the notice.
_PASTED_TO = re.compile(r"^[ \t]{0,20}to:[ \t]{0,20}(.{1,300})$", re.I | re.M)
# Delay warnings (the MTA is still trying) as MTAs title and word them.
_DELAY_SUBJECT = re.compile(r"\bdelay(?:ed)?\b|still being retried|warning: could not send", re.I)
_DELAY_NOTICE = re.compile(
    r"this is a warning message only|has (?:not yet|still not) been delivered"
    r"|(?:will|shall) (?:continue|keep) (?:to )?(?:try|attempt)|still (?:trying|being retried)"
    r"|delivery attempts will continue|has been delayed",
    re.I,
)


def parse_report(raw: bytes) -> Report:
    """Parse a message that arrived at the bounce address. Never raises.

    A saved mailbox holding several notices is read as one report listing every recipient.
    """
    try:
        messages = mime.mbox_messages(raw)
        if len(messages) == 1:
            return _parse(raw)
        return _combined([_parse(message) for message in messages])
    except Exception:  # any input must yield a report; a broken one is "unknown"
        return Report(kind="unknown")


def _combined(reports: list[Report]) -> Report:
    """The first readable report, with the recipients of the others of its kind after its own."""
    first = next((r for r in reports if r.recipients), reports[0])
    others = [r for r in reports if r is not first and r.kind == first.kind]
    return replace(
        first, recipients=[*first.recipients, *(x for r in others for x in r.recipients)]
    )


def _load(raw: bytes) -> tuple[Message, mime.Parts, list[dsn.StatusFields]]:
    """The message, its parts by role and their status fields.

    A success in the plain layout, most of what comes back, is cut at its delimiters; what
    it holds is all its fields say. Anything else is read into the email package's tree,
    which the families' readers of a failure walk.
    """
    flat = flat_report.split(raw)
    if flat is not None:
        status = [dsn.parse(text) for text in flat[1].delivery_status]
        if _all_delivered([r for s in status for r in s.recipients]):
            return *flat, status
    message = mime.load(raw)
    parts = mime.split_parts(message)
    return message, parts, [dsn.parse(text) for text in parts.delivery_status]


@dataclass(frozen=True)
class FileReport:
    """One file given to `mailcast feedback parse`: its report, or why it could not be read."""

    file: str
    report: Report
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON object the command prints: exactly file, kind and recipients."""
        return {
            "file": self.file,
            "kind": self.report.kind,
            "recipients": [r.as_dict() for r in self.report.recipients],
        }


def parse_files(paths: Iterable[str | Path]) -> Iterator[FileReport]:
    """One report per file, in order; a file that cannot be read is "unknown" with its error."""
    for path in paths:
        try:
            raw = _read_prefix(Path(path))
        except OSError as error:
            yield FileReport(str(path), Report(kind="unknown"), error.strerror or str(error))
            continue
        yield FileReport(str(path), parse_report(raw))


def _read_prefix(path: Path) -> bytes:
    # The parser reads a bounded prefix; reading more of a huge file would only cost memory.
    with path.open("rb") as handle:
        return handle.read(mime.MAX_BYTES)


def _parse(raw: bytes) -> Report:
    message, parts, status = _load(raw)
    full_notice = formats.full_text(parts.notice)
    notice = formats.notice_body(full_notice)
    reading = lhost.Reading()
    if not _all_delivered([r for s in status for r in s.recipients]):
        # Which MTA wrote a failure matters to read it; a success says all in its fields.
        reading = lhost.read(lhost.Notice(message, parts, full_notice, notice))
    kind, findings = _read(message, parts, notice, full_notice, status, reading)
    found = hints.find(
        parts,
        full_notice[len(notice) :],
        next((s.envid for s in status if s.envid), ""),
        next((s.original_message_id for s in status if s.original_message_id), ""),
    )
    return Report(
        kind=kind,
        recipients=[_result(f) for f in findings],
        envid=_clean(found.envid),
        message_id=_clean(found.message_id),
        original_to=_clean(found.original_to),
        mailcast_headers={_clean(k): _clean(v) for k, v in found.mailcast_headers.items()},
        family=reading.family if findings else "",
    )


def _read(
    message: Message,
    parts: mime.Parts,
    notice: str,
    full_notice: str,
    status: list[dsn.StatusFields],
    reading: lhost.Reading,
) -> tuple[str, list[Finding]]:
    """The kind of feedback and its raw findings, complaints first, auto-replies last."""
    if reading.kind == "arf" and reading.findings:
        return "arf", reading.findings
    if arf.is_complaint(message, parts):
        return "arf", arf.findings(message, parts)
    # A notice in a family's own structure (SES's JSON, m-FILTER's headers) is one by itself.
    structural = reading.self_evident and bool(reading.findings)
    if structural or detect.is_bounce(message, parts, notice, len(notice) < len(full_notice)):
        findings = _bounce_findings(message, parts, notice, full_notice, status, reading)
        return ("dsn", findings) if findings else ("unknown", [])
    if autoreply.is_autoreply(message, notice):
        return "autoreply", autoreply.findings(message, notice)
    return "not_bounce", []


def _bounce_findings(
    message: Message,
    parts: mime.Parts,
    notice: str,
    full_notice: str,
    status: list[dsn.StatusFields],
    reading: lhost.Reading,
) -> list[Finding]:
    """Status fields when there are some, completed by the family's reading of the notice.

    Without status fields the family's reading stands; a notice no family reads is cut into
    blocks by the generic reader.
    """
    from_status = [r for s in status for r in s.recipients]
    if _all_delivered(from_status):
        # Nothing for the notice's text to add to a success; most of EFS's notices are one.
        return from_status
    if not from_status:
        pasted = dsn.embedded(full_notice)
        from_status = pasted.recipients if pasted else []
    if from_status and merge.covers(from_status, reading.findings):
        # The family read a block for every recipient: the generic reading would add nothing.
        findings = merge.complete(from_status, [reading.findings], "")
    elif from_status:
        from_text, preamble = _text_findings(message, parts, notice, full_notice)
        findings = merge.complete(from_status, [reading.findings, from_text], preamble)
    else:
        findings = reading.findings or _generic(message, parts, notice, full_notice)
    # The step the notice names once holds for the recipients whose text names none; in a
    # notice no family reads, wherever its text names one (sisimai's RFC 3464 reader).
    step = reading.command or ("" if reading.family else smtp.command(notice))
    for finding in findings:
        finding.command = finding.command or step
        finding.steps_stated = reading.steps_stated
    providers.apply(findings, notice)
    rhost.apply(findings, notice)
    _imply_actions(findings, message, notice)
    return findings


def _all_delivered(findings: list[Finding]) -> bool:
    return bool(findings) and all(
        f.address and f.action.lower() in classify.SUCCESS_ACTIONS and f.status.startswith("2.")
        for f in findings
    )


def _imply_actions(findings: list[Finding], message: Message, notice: str) -> None:
    """Formats without status fields say no Action: a warning is "delayed", else "failed"."""
    if all(finding.action for finding in findings):
        return
    warning = bool(
        _DELAY_SUBJECT.search(mime.header(message, "subject"))
        or _DELAY_NOTICE.search(notice[: formats.MAX_CONTEXT])
    )
    for finding in findings:
        if not finding.action:
            finding.action = "delayed" if warning else "failed"


def _generic(message: Message, parts: mime.Parts, notice: str, full_notice: str) -> list[Finding]:
    """No status fields and no family reading: the notice's blocks, else its headers."""
    from_text, _ = _text_findings(message, parts, notice, full_notice)
    return from_text or _fallback(message, parts, notice, full_notice)


def _text_findings(
    message: Message, parts: mime.Parts, notice: str, full_notice: str
) -> tuple[list[Finding], str]:
    exclude = _senders(message, parts, full_notice)
    found, preamble = formats.findings(notice, exclude)
    if not found:
        # The failed recipient may also be the sender (a test sent to oneself).
        found, preamble = formats.findings(notice, _addresses(mime.header(message, "from")))
    return found, preamble


def _fallback(message: Message, parts: mime.Parts, notice: str, full_notice: str) -> list[Finding]:
    """No recipient named in the notice: take them from the headers, explain with it all."""
    candidates: list[str] = []
    for name in _RECIPIENT_HEADERS:
        candidates += smtp.addresses(mime.header(message, name))
    # X-Failed-Recipients lists every failed recipient: all of them are the notice's.
    failed = len(candidates)
    if parts.returned is not None:
        for name in _RETURNED_HEADERS:
            candidates += _addresses(mime.header(parts.returned, name))
    returned_to = _PASTED_TO.search(full_notice[len(notice) :])
    if returned_to:
        candidates += _addresses(returned_to.group(1))
    if not candidates:
        exclude = _senders(message, parts, full_notice)
        candidates = [a for a in smtp.addresses(notice) if a.lower() not in exclude]
    text = " ".join(notice.split())[: formats.MAX_BLOCK]
    reply = smtp.best_reply(text)
    return [
        Finding(
            address=address,
            reply_code=reply,
            status=smtp.best_status(text, reply),
            diagnostic=text,
            command=smtp.command(text),
        )
        for address in dict.fromkeys(candidates[: max(failed, 1)])
    ]


def _senders(message: Message, parts: mime.Parts, full_notice: str) -> set[str]:
    """Addresses in a sender's role: never a failed recipient of this notice."""
    found = formats.senders(full_notice[:20000])
    for name in ("to", "from"):
        found |= _addresses(mime.header(message, name))
    if parts.returned is not None:
        for name in ("from", "return-path", "sender"):
            found |= _addresses(mime.header(parts.returned, name))
    return found


def _addresses(text: str) -> set[str]:
    return {a.lower() for a in smtp.addresses(text)}


def _result(finding: Finding) -> RecipientResult:
    reason = classify.reason(finding)
    hard = classify.is_hard(reason, finding.status, finding.reply_code)
    return RecipientResult(
        address=_clean(finding.address),
        original_recipient=_clean(finding.original_recipient),
        action=_clean(finding.action),
        status=finding.status,
        reply_code=finding.reply_code,
        diagnostic=_clean(" ".join(finding.diagnostic.split())[:MAX_DIAGNOSTIC]),
        reason=reason,
        hard=hard,
        failure_type=classify.failure_type(reason, hard),
        failure_reason=classify.failure_reason(reason),
        feedback_type=_clean(finding.feedback_type),
    )


def _clean(text: str) -> str:
    """Valid Unicode only: 8-bit bytes the email parser kept as surrogates are decoded."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
