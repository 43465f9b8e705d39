"""RFC 3464 delivery-status fields (and RFC 6533's UTF-8 form) into per-recipient findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailcast.feedback import smtp
from mailcast.feedback.model import Finding

MAX_LINES = 20000  # a status part listing 500 recipients runs to some 3,000 lines
MAX_VALUE = 4000

_FIELD = re.compile(
    rf"^([A-Za-z][A-Za-z0-9-]{{0,60}})[ \t]{{0,20}}:[ \t]{{0,200}}(.{{0,{MAX_VALUE}}})"
)
# A lone CR ends a line too, as the email package reads it: a cut CRLF must not run a field's
# value into the next field's name.
_LINE_END = re.compile(r"\r\n|\r|\n")
_START = re.compile(
    r"^(?:reporting-mta|final-recipient|original-recipient)[ \t]{0,20}:", re.I | re.M
)
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient")
_COMMENT = re.compile(r"^\s{0,20}[245]\.\d{1,3}\.\d{1,3}\s{0,20}\(([^()]{1,400})\)")


@dataclass
class StatusFields:
    """What a delivery-status body says: per-message fields and one finding per recipient."""

    envid: str = ""
    reporting_mta: str = ""
    original_message_id: str = ""
    recipients: list[Finding] = field(default_factory=list)


def parse(text: str) -> StatusFields:
    """Read the fields of a message/delivery-status body, however loosely it is laid out."""
    result = StatusFields()
    for block in _blocks(_fields(text)):
        groups = _recipient_groups(block)
        if not groups:
            _apply_message(result, block)
            continue
        for group in groups:
            finding = Finding()
            for name, value in group:
                _apply_recipient(finding, name, value)
            _apply_message(result, group)
            result.recipients.append(finding)
    for recipient in result.recipients:
        recipient.address = recipient.address or recipient.original_recipient
        _complete(recipient)
    result.recipients = [r for r in result.recipients if r.address]
    return result


def embedded(text: str) -> StatusFields | None:
    """Delivery-status fields pasted into a plain-text notice (or a part the MIME lost)."""
    start = _START.search(text)
    if start is None:
        return None
    fields = parse(text[start.start() :])
    return fields if fields.recipients else None


def parse_fields(text: str) -> list[tuple[str, str]]:
    """(lower-cased name, unfolded value) for each "Name: value" field of the text."""
    return [(name, value) for name, value, _ in _fields(text)]


def _fields(text: str) -> list[tuple[str, str, bool]]:
    """(name, unfolded value, starts a new block) for each field, in order."""
    out: list[tuple[str, str, bool]] = []
    new_block = True
    for line in _LINE_END.split(text)[:MAX_LINES]:
        if line[:1] in (" ", "\t") and out and line.strip() and not new_block:
            name, value, starts = out[-1]
            out[-1] = (name, (value + " " + line.strip())[:MAX_VALUE], starts)
            continue
        match = _FIELD.match(line.strip())
        if match is None:
            # A blank line separates blocks; so does anything that is not a field.
            new_block = True
            continue
        out.append((match.group(1).lower(), match.group(2).strip(), new_block))
        new_block = False
    return out


def _blocks(fields: list[tuple[str, str, bool]]) -> list[list[tuple[str, str]]]:
    blocks: list[list[tuple[str, str]]] = []
    for name, value, new_block in fields:
        if new_block or not blocks:
            blocks.append([])
        blocks[-1].append((name, value))
    return blocks


def _recipient_groups(block: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split a block into one group of fields per recipient; [] when it names none.

    Fields before the first recipient field (some MTAs put Action first) belong to it. A
    block with no Final- or Original-Recipient names its recipient by X-Actual-Recipient
    alone, as sisimai's RFC3464 reader takes it.
    """
    starts: tuple[str, ...] = _RECIPIENT_FIELDS
    if not any(name in starts for name, _ in block):
        starts = ("x-actual-recipient",)
        if not any(name in starts for name, _ in block):
            return []
    groups: list[list[tuple[str, str]]] = [[]]
    seen: set[str] = set()
    for name, value in block:
        if name in starts:
            # A second Final-Recipient, or an Original-Recipient after one, starts the next.
            if name in seen:
                groups.append([])
                seen = set()
            seen.add(name)
        groups[-1].append((name, value))
    return groups


def _apply_message(result: StatusFields, fields: list[tuple[str, str]]) -> None:
    for name, value in fields:
        if name == "original-envelope-id" and not result.envid:
            result.envid = value.strip("<> ")
        elif name == "reporting-mta" and not result.reporting_mta:
            result.reporting_mta = _typed(value)[1]
        elif name == "x-original-message-id" and not result.original_message_id:
            result.original_message_id = value.strip()


def _apply_recipient(finding: Finding, name: str, value: str) -> None:
    if name == "final-recipient":
        finding.address = _address(value)
    elif name == "original-recipient":
        finding.original_recipient = _address(value)
    elif name == "x-actual-recipient" and not finding.address:
        finding.address = _address(value)
    elif name == "action":
        finding.action = (value.split() or [""])[0].lower().strip(";,.")
    elif name == "status":
        finding.status = smtp.best_status(value)
        # "Status: 4.0.0 (example.net: host name lookup failure)": the comment is the cause.
        comment = _COMMENT.search(value)
        if comment:
            finding.diagnostic = f"{finding.diagnostic} {comment.group(1)}".strip()[:MAX_VALUE]
    elif name == "remote-mta":
        finding.remote_host = _typed(value)[1].strip("[]. ").lower()
    elif name == "diagnostic-code":
        kind, text = _typed(value)
        finding.diagnostic_type = finding.diagnostic_type or kind.lower()
        finding.diagnostic = f"{finding.diagnostic} {text}".strip()[:MAX_VALUE]


def _complete(finding: Finding) -> None:
    """Fill what the fields imply: the reply code and missing status from the diagnostic."""
    if not finding.reply_code and finding.diagnostic_type in ("smtp", ""):
        finding.reply_code = smtp.best_reply(finding.diagnostic)
    said = smtp.best_status(finding.diagnostic, finding.reply_code)
    # "Status: 5.0.0" often comes with a precise code in the remote server's own reply.
    if not finding.status or (
        finding.status.endswith(".0.0") and said[:1] == finding.status[:1] and said
    ):
        finding.status = said or finding.status
    if not finding.command:
        finding.command = smtp.command(finding.diagnostic)


def _typed(value: str) -> tuple[str, str]:
    """Split 'rfc822; text' into its type and text; an untyped value has type ''."""
    kind, sep, rest = value.partition(";")
    if sep and len(kind) <= 20 and " " not in kind.strip():
        return kind.strip(), rest.strip()
    return "", value.strip()


def _address(value: str) -> str:
    return smtp.normalize(_typed(value)[1])
