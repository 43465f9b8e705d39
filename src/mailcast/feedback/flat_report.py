"""A report in the plain multipart/report layout, cut into its parts straight from its bytes.

Most notices an EFS delivery brings back are successes as Postfix and Exim write them: a
multipart/report of a 7-bit text notice, the delivery-status fields and the returned headers.
Building the email package's tree for them (mime.load, then mime.split_parts) was most of the
time to read one. This reader cuts such a report at its delimiters and gives the Parts that
split_parts would give, with a message that holds only the top-level header fields. Anything
else (8-bit bytes, nesting, a transfer encoding, a part of another kind, a delimiter line that
is not clean) is None: the caller reads it with mime.load.
"""

from __future__ import annotations

import re
from email.message import Message

from mailcast.feedback import mime, mime_fast, params

_KINDS = frozenset(
    {"text/plain", "message/delivery-status", "text/rfc822-headers", "message/rfc822"}
)
_PLAIN_TRANSFER = frozenset({"", "7bit", "8bit"})
# Charsets under which 7-bit bytes read as themselves (not UTF-7 or UTF-16, say).
_ASCII_CHARSETS = frozenset({None, "us-ascii", "utf-8", "iso-8859-1", "iso-8859-15"})
# A failure or a delay: the families' readers walk the email package's tree to read it.
_NOT_DELIVERED = re.compile(rb"^action[ \t]*:[ \t]*(?:failed|delayed)", re.I | re.M)
# A part's content-type inside the status part would make the email package read a body.
_STATUS_CONTENT_TYPE = re.compile(r"^content-type[ \t]*:", re.I | re.M)


def split(raw: bytes) -> tuple[Message, mime.Parts] | None:
    """The top-level header fields and the parts by role; None unless in the plain layout
    and reporting no failure or delay."""
    raw = raw[: mime.MAX_BYTES]
    if not raw.isascii() or raw.startswith(b"From ") or _NOT_DELIVERED.search(raw):
        return None
    text = raw.decode("ascii")
    crlf = text.count("\r\n")
    if text.count("\r") != crlf or (crlf and text.count("\n") != crlf):
        return None  # lone CRs, or line ends of both kinds: left to the general reader
    end = "\r\n" if crlf else "\n"
    head, blank, body = text.partition(end + end)
    top = mime_fast.headers(head + end) if blank else None
    if top is None or top.get_content_type() != "multipart/report":
        return None
    if (params.param(top, "report-type") or "").lower() != "delivery-status":
        return None
    if str(top.get("content-transfer-encoding", "")).strip().lower() not in _PLAIN_TRANSFER:
        return None
    boundary = params.boundary(top)
    pieces = _pieces(body, boundary, end) if boundary else None
    if pieces is None:
        return None
    parts = mime.Parts(content_types=[top.get_content_type()])
    for piece in pieces:
        if not _sort(piece, end, parts):
            return None
    return top, parts


def _pieces(body: str, boundary: str, end: str) -> list[str] | None:
    """The text between the delimiters, up to the closing one; None on any doubt."""
    separator = "--" + boundary
    lines = (end + body).split(end + separator)
    if len(lines) < 3:
        return None
    pieces: list[str] = []
    for piece in lines[1:]:
        rest, line_end, content = piece.partition(end)
        if rest == "--":
            return pieces if pieces else None  # the closing delimiter: the epilogue is not read
        if rest or not line_end or content.startswith(separator):
            return None  # "--boundary" followed by more, or two delimiters in a row
        pieces.append(content)
    return None  # never closed


def _sort(piece: str, end: str, parts: mime.Parts) -> bool:
    """Add the part to the role its kind plays; False when it is not in the plain layout."""
    head, blank, body = piece.partition(end + end)
    fields = _fields(head, end) if blank else None
    if fields is None:
        return False
    kind, charset = _content_type(fields.get("content-type", "text/plain"))
    encoding = fields.get("content-transfer-encoding", "").strip().lower()
    if kind not in _KINDS or encoding not in _PLAIN_TRANSFER or charset not in _ASCII_CHARSETS:
        return False
    parts.content_types.append(kind)
    if kind == "text/plain":
        parts.notice.append(body)
    elif kind == "message/delivery-status":
        if _STATUS_CONTENT_TYPE.search(body) or not _only_fields(body, end):
            return False
        parts.delivery_status.append(body)
    elif parts.returned is None:
        returned = mime_fast.headers(body)
        if returned is None or returned.get_content_maintype() in ("message", "multipart"):
            return False  # the general reader would read (and maybe doubt) its parts too
        parts.returned = returned
    return True


def _fields(head: str, end: str) -> dict[str, str] | None:
    """A part's header fields by lower-cased name, the first of each as compat32 gives it."""
    found: list[list[str]] = []
    for line in head.split(end):
        if line[:1] in (" ", "\t") and found:
            found[-1].append(line)
        elif mime_fast.FIELD.match(line):
            found.append([line])
        else:
            return None
    fields: dict[str, str] = {}
    for lines in found:
        name, _, value = end.join(lines).partition(":")
        fields.setdefault(name.lower(), value.lstrip(" \t"))
    return fields


def _content_type(value: str) -> tuple[str, str | None]:
    """The type and charset, as Message.get_content_type and get_content_charset read them;
    ("", None) for a value they would decode or read as text/plain."""
    kind = value.split(";", 1)[0].strip().lower()
    if kind.count("/") != 1 or not params.is_plain(value):
        return "", None
    return kind, params.plain_charset(value)


def _only_fields(body: str, end: str) -> bool:
    """Every line a field, its folded continuation or a blank line between blocks."""
    fresh = True  # at the start of a block: a continuation has nothing to continue
    for line in body.split(end):
        if not line:
            fresh = True
        elif line[0] in " \t":
            if fresh:
                return False
        elif mime_fast.FIELD.match(line):
            fresh = False
        else:
            return False
    return True
