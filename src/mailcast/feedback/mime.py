"""Tolerant reading of a raw message: bounded parse, decoded headers, and its parts by role."""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import html
import itertools
import quopri
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser

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
    starts = [m.start() for m in _FROM_LINE.finditer(raw[: MAX_BYTES * MAX_MESSAGES])]
    bounds = [*starts[:MAX_MESSAGES], len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds) if raw[a:b].strip()]


def load(raw: bytes) -> Message:
    # The compat32 parser records defects instead of raising, whatever the input.
    return email.message_from_bytes(raw[:MAX_BYTES])


def header(message: Message, name: str) -> str:
    """The header's value, RFC 2047 words decoded, unfolded; "" when absent or unreadable."""
    value = message.get(name)
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except Exception:
        text = str(value)
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
        return decode(payload, part.get_content_charset())
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
    return HeaderParser().parsestr(text)


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
    try:
        data = part.as_bytes()
    except Exception:
        # The generator refuses some broken headers; rebuild the blocks field by field.
        payload = part.get_payload()
        items = payload if isinstance(payload, list) else [payload]
        return "\n\n".join(_fields_text(item) for item in items)
    _, _, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    return decode(_transfer_decode(body, encoding), "utf-8")


def _fields_text(item: object) -> str:
    if not isinstance(item, Message):
        return str(item)
    return "\n".join(f"{name}: {value}" for name, value in item.raw_items())


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
