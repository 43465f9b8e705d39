"""All the text a reader could see in a raw message: to check that reported addresses are in it."""

from __future__ import annotations

import base64
import email
import email.header
import quopri
from email.message import Message


def message_text(raw: bytes) -> str:
    """Everything a reader of the message could see: raw bytes, decoded headers and bodies."""
    message = email.message_from_bytes(raw)
    texts = [raw.decode("utf-8", "replace"), raw.decode("latin-1")]
    for part in message.walk():
        texts += [str(value) for value in part.values()]
        texts += [_decoded_header(value) for value in part.values()]
        texts += [_decoded(data, part.get_content_charset()) for data in _bodies(part)]
    return "\n".join(texts).lower()


def _bodies(part: Message) -> list[bytes]:
    """A part's body decoded from its transfer encoding, even when it was parsed as headers."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return [payload]
    try:
        _, _, body = part.as_bytes().replace(b"\r\n", b"\n").partition(b"\n\n")
    except Exception:
        return []
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    try:
        if encoding == "base64":
            return [body, base64.b64decode(body + b"===")]
        if encoding == "quoted-printable":
            return [body, quopri.decodestring(body)]
    except ValueError:
        pass
    return [body]


def _decoded(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def _decoded_header(value: object) -> str:
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except Exception:
        return ""
