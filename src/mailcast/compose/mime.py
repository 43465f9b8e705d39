"""The MIME skeleton of a delivery, built once; each message only fills in its own parts."""

from __future__ import annotations

import binascii
import datetime as dt
import re
import secrets
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr


class HeaderInjectionError(ValueError):
    """A header value holds a line break, which would let it write headers of its own."""


def check_header_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjectionError(f"the {name} header may not contain a line break")
    return value


def encode_header(name: str, value: str) -> bytes:
    """One header line, RFC 2047-encoded when the value is not plain ASCII."""
    check_header_value(name, value)
    if value.isascii() and len(value) < 900:
        return f"{name}: {value}\r\n".encode("ascii")
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def encode_address(name: str, value: str) -> bytes:
    """An address header, its display name encoded when needed (the address is kept as is)."""
    check_header_value(name, value)
    display, address = parseaddr(value)
    return encode_header(name, formataddr((display, address), charset="utf-8"))


def encode_mailbox(name: str, display: str, address: str) -> bytes:
    """A recipient's address header; a local part that is not ASCII goes as UTF-8 (RFC 6532).

    Such a message is only relayed with SMTPUTF8 (send/relay.py), which allows UTF-8 headers.
    """
    check_header_value(name, display)
    if address.isascii():
        return encode_header(name, formataddr((display, address), charset="utf-8"))
    check_header_value(name, address)
    mailbox = f"{_phrase(display)} <{address}>" if display else address
    return f"{name}: {mailbox}\r\n".encode()


def _phrase(display: str) -> str:
    """A display name, quoted where RFC 5322 specials would end it (as formataddr does)."""
    if not _SPECIALS.search(display):
        return display
    return '"' + _ESCAPED.sub(r"\\\g<0>", display) + '"'


_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_ESCAPED = re.compile(r'[\\"]')


def quoted_printable(body: str) -> bytes:
    lf_only = body.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(lf_only.encode("utf-8"), quotetabs=False, istext=True)
    return encoded.replace(b"\n", b"\r\n")


def _part_head(subtype: str) -> bytes:
    return (
        f"Content-Type: text/{subtype}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
    ).encode("ascii")


class MessageSkeleton:
    """The fixed headers and MIME structure of one delivery's messages, as bytes."""

    def __init__(self, from_addr: str, reply_to: str | None, *, has_html: bool, has_text: bool):
        head = encode_address("From", from_addr)
        if reply_to:
            head += encode_address("Reply-To", reply_to)
        self._head = head + b"MIME-Version: 1.0\r\n"
        self._has_html = has_html
        self._has_text = has_text or not has_html
        # QP-encoded text never contains "=_", so this boundary cannot occur in a body.
        self._boundary = f"=_mc_{secrets.token_hex(12)}".encode("ascii")

    def build(
        self,
        *,
        to_addr: str,
        to_name: str,
        subject: str,
        text: str,
        html: str,
        message_id: str,
        date: dt.datetime,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> bytes:
        headers = [
            self._head,
            encode_mailbox("To", to_name, to_addr),
            encode_header("Subject", subject),
            encode_header("Date", format_datetime(date)),
            encode_header("Message-ID", message_id),
        ]
        headers.extend(encode_header(name, value) for name, value in extra_headers)
        return b"".join(headers) + self._body(text, html)

    def _body(self, text: str, html: str) -> bytes:
        if not self._has_html:
            return _part_head("plain") + b"\r\n" + quoted_printable(text)
        if not self._has_text:
            return _part_head("html") + b"\r\n" + quoted_printable(html)
        boundary = self._boundary
        return b"".join(
            [
                b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n',
                b"--" + boundary + b"\r\n" + _part_head("plain") + b"\r\n",
                quoted_printable(text),
                b"\r\n--" + boundary + b"\r\n" + _part_head("html") + b"\r\n",
                quoted_printable(html),
                b"\r\n--" + boundary + b"--\r\n",
            ]
        )
