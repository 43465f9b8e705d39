"""Tolerant reading of a raw message: bounded parse, decoded headers, and its parts by role."""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import email
import html
import itertools
import quopri
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser

from mailcast.feedback import mime_fast, params

# Everything useful in a bounce (the notice, the status fields, the returned headers) comes
# first; the returned body can be megabytes. Reading a bounded prefix keeps parsing linear.
MAX_BYTES = 256 * 1024
MAX_PARTS = 200
MAX_HEADER = 4000

_STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}
_FEEDBACK_TYPES = {"message/feedback-report"}
_RETURNED_MESSAGE = {"message/rfc822", "message/global", "message/partial"}
_RETURNED_HEADERS = {
    "text/rfc822-headers",
    "text/rfc822-header",
    "message/rfc822-headers",
    "message/global-headers",
}
_TAG = re.compile(r"<[^<>]{0,4000}>")
_SCRIPT = re.compile(r"<(script|style)\b[^<>]{0,4000}>[^<]{0,20000}</\1\s{0,20}>", re.IGNORECASE)
_BREAK = re.compile(r"<(?:br|/p|/div|/tr|/li|p|div|tr|li)\b[^<>]{0,4000}>", re.IGNORECASE)


@dataclass
class Parts:
    """The parts of a feedback message sorted by the role they play."""

    notice: list[str] = field(default_factory=list)  # human-readable text, in order
    delivery_status: list[str] = field(default_factory=list)
    feedback_reports: list[str] = field(default_factory=list)
    returned: Message | None = None  # headers (and maybe body) of the original message
    content_types: list[str] = field(default_factory=list)


# An mbox "From_" line: "From MAILER-DAEMON  Thu Apr 29 23:34:45 2015".
_FROM_LINE = re.compile(
    rb"^From [^\s:]{1,300}[ \t]{1,20}\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d(?: \d{4})?[^\n]{0,60}\r?\n",
    re.MULTILINE,
)
MAX_MESSAGES = 20


def mbox_messages(raw: bytes) -> list[bytes]:
    """The messages of an mbox file (a saved mailbox starts with a From_ line); else [raw].

    Mail received over SMTP never starts with a From_ line, so only saved files split.
    """
    if not raw.startswith(b"From ") or not _FROM_LINE.match(raw):
        return [raw]
    starts = [0]
    for line in _FROM_LINE.finditer(raw[: MAX_BYTES * MAX_MESSAGES]):
        if line.start() and _whole_message(raw[starts[-1] : line.start()]):
            starts.append(line.start())
    bounds = [*starts[:MAX_MESSAGES], len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds) if raw[a:b].strip()]


def _whole_message(text: bytes) -> bool:
    """Whether a From_ line after this text starts the next message rather than quoting one.

    A mailbox puts an empty line between messages, or at least lets a multipart message
    close first; a forwarded notice pasted below a rule of dashes is still the body.
    """
    last = text[:-1].rsplit(b"\n", 1)[-1].strip()
    if not last:
        return True
    blank = _BLANK_LINE.search(text, 0, _LONGEST_HEAD)
    found = _BOUNDARY.search(text, 0, blank.start() if blank else _LONGEST_HEAD)
    return found is not None and last == b"--" + (found.group(1) or found.group(2)) + b"--"


def load(raw: bytes) -> Message:
    raw = raw[:MAX_BYTES]
    message = mime_fast.load(raw)
    if message is not None:
        return message
    # The compat32 parser records defects instead of raising, whatever the input.
    return email.message_from_bytes(_common_boundary(raw))


def _common_boundary(raw: bytes) -> bytes:
    """The message with its top-level boundary renamed to one that is always the same.

    The email parser compiles a regular expression for each boundary it meets: a third of
    loading a notice, since every MTA draws a new boundary for every notice; one name
    for all lets Python's cache of compiled expressions answer instead. Only a boundary long
    enough not to be a word of the text is renamed, and only where it delimits (after a line
    break) and where the header declares it.
    """
    blank = _BLANK_LINE.search(raw, 0, _LONGEST_HEAD)
    found = _BOUNDARY.search(raw, 0, blank.start() if blank else _LONGEST_HEAD)
    if found is None:
        return raw
    boundary = found.group(1) or found.group(2)
    if len(boundary) < _SHORTEST_RENAMED or _COMMON_BOUNDARY in raw:
        return raw
    declared = raw[: found.start()] + b'boundary="' + _COMMON_BOUNDARY + b'"'
    rest = raw[found.end() :].replace(b"\n--" + boundary, b"\n--" + _COMMON_BOUNDARY)
    return declared + rest


_BOUNDARY = re.compile(
    rb'boundary[ \t]{0,20}=[ \t]{0,20}(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.IGNORECASE
)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LONGEST_HEAD = 65536
_SHORTEST_RENAMED = 16
_COMMON_BOUNDARY = b"mailcast.common.boundary.0f3a9c"


def header(message: Message, name: str) -> str:
    """The header's value, RFC 2047 words decoded, unfolded; "" when absent or unreadable."""
    value = message.get(name)
    if value is None:
        return ""
    text = str(value)
    if "=?" in text or not text.isascii():
        # Only encoded words need decoding: building a Header for a plain value cost more
        # than reading the returned message's headers.
        with contextlib.suppress(Exception):
            text = str(make_header(decode_header(text)))
    return " ".join(text[:MAX_HEADER].split())


def decode(data: bytes, charset: str | None) -> str:
    """Bytes to text with the declared charset, falling back to UTF-8, never failing."""
    name = (charset or "").strip().strip('"').lower() or "utf-8"
    try:
        codecs.lookup(name)
    except (LookupError, ValueError):  # unknown, or not even a name (a NUL byte in it)
        name = "utf-8"
    for candidate in (name, "utf-8"):
        try:
            return data.decode(candidate)
        except (LookupError, ValueError):  # UnicodeError is a ValueError
            continue
    try:
        return data.decode(name, errors="replace")
    except (LookupError, ValueError):  # a codec that is no text encoding, or misbehaves
        return data.decode("utf-8", errors="replace")


def body_text(part: Message) -> str:
    """The decoded body of a leaf part, or the raw text of a message/* part."""
    if part.is_multipart():
        return _embedded_text(part)
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return decode(payload, params.charset(part))
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def html_to_text(markup: str) -> str:
    markup = _SCRIPT.sub(" ", markup)
    markup = _BREAK.sub("\n", markup)
    return html.unescape(_TAG.sub(" ", markup))


def split_parts(message: Message) -> Parts:
    """Walk the message without entering the returned original, sorting parts by role."""
    parts = Parts()
    stack: list[Message] = [message]
    seen = 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        kind = part.get_content_type()
        parts.content_types.append(kind)
        if kind.startswith("multipart/") and part.is_multipart():
            stack.extend(reversed(_children(part, kind)))
        elif kind.startswith("multipart/"):
            # No boundary was found: the parser kept the whole body as one text.
            parts.notice.append(body_text(part))
        elif kind in _STATUS_TYPES:
            parts.delivery_status.append(body_text(part))
        elif kind in _FEEDBACK_TYPES:
            parts.feedback_reports.append(body_text(part))
        elif kind in _RETURNED_MESSAGE or kind in _RETURNED_HEADERS:
            if parts.returned is None:
                parts.returned = _returned(part, kind)
        elif kind == "text/plain":
            parts.notice.append(body_text(part))
        elif kind == "text/html":
            parts.notice.append(html_to_text(body_text(part)))
    return parts


def parse_headers(text: str) -> Message:
    quick = mime_fast.headers(text)
    return quick if quick is not None else HeaderParser().parsestr(text)


def _children(part: Message, kind: str) -> list[Message]:
    payload = part.get_payload()
    children = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
    if kind == "multipart/alternative":
        # One rendering is enough; the plain one is the easier to read.
        plain = [c for c in children if c.get_content_type() == "text/plain"]
        if plain:
            return plain[:1]
    return children


def _returned(part: Message, kind: str) -> Message | None:
    payload = part.get_payload()
    if kind in _RETURNED_MESSAGE and isinstance(payload, list) and payload:
        inner = payload[0]
        return inner if isinstance(inner, Message) else None
    return parse_headers(body_text(part))


def _embedded_text(part: Message) -> str:
    """The body of a message/* part the parser split into header blocks, as text again."""
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if encoding not in _ENCODED:
        # Field by field: the generator (below) folds every line anew, which cost a fifth of
        # reading a whole notice.
        payload = part.get_payload()
        items = payload if isinstance(payload, list) else [payload]
        return "\n\n".join(_fields_text(item) for item in items)
    try:
        data = part.as_bytes()
    except Exception:  # the generator refuses some broken headers: the blocks as they are
        payload = part.get_payload()
        items = payload if isinstance(payload, list) else [payload]
        return "\n\n".join(_fields_text(item) for item in items)
    _, _, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    return decode(_transfer_decode(body, encoding), "utf-8")


def _fields_text(item: object) -> str:
    if not isinstance(item, Message):
        return str(item)
    text = "\n".join(f"{name}: {value}" for name, value in item.raw_items())
    body = item.get_payload(decode=True)  # bytes as they came: 8-bit text kept whole
    if isinstance(body, bytes) and body.strip():  # a type the parser read as one message
        text += "\n\n" + decode(body, "utf-8")
    # The parser keeps 8-bit bytes of header fields (RFC 6533's UTF-8) as surrogates.
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\r\n", "\n")


# Some MTAs encode the status part, which the parser then took for header blocks.
_ENCODED = frozenset({"base64", "quoted-printable"})


def _transfer_decode(body: bytes, encoding: str) -> bytes:
    # Some MTAs encode the status part, which the parser then took for header blocks.
    try:
        if encoding == "base64":
            return base64.b64decode(body + b"===")
        if encoding == "quoted-printable":
            return quopri.decodestring(body)
    except (binascii.Error, ValueError):
        pass
    return body
