"""The MIME skeleton of a delivery, built once; each message only fills in its own parts."""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import re
import secrets
from email.charset import Charset
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
    return f"{name}: {_encoded_words(name, value)}\r\n".encode("ascii")


def _encoded_words(name: str, value: str) -> str:
    """The value as email.header writes it in RFC 2047 encoded words.

    When one word fits on the header's line (78 characters), Header writes the word that
    Charset.header_encode writes; Header finds that out character by character, which cost
    as much as composing the rest of a message with a personalised non-ASCII subject.
    """
    if not value.isascii():
        word = _UTF8.header_encode(value)
        if len(name) + 2 + len(word) <= _HEADER_LINE:
            return word
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


_UTF8 = Charset("utf-8")
_HEADER_LINE = 78  # email.header folds longer lines


def encode_address(name: str, value: str) -> bytes:
    """An address header, its display name encoded when needed (the address is kept as is)."""
    check_header_value(name, value)
    display, address = parseaddr(value)
    return encode_header(name, formataddr((display, address), charset=_UTF8))


def encode_mailbox(name: str, display: str, address: str) -> bytes:
    """A recipient's address header; a local part that is not ASCII goes as UTF-8 (RFC 6532).

    Such a message is only relayed with SMTPUTF8 (send/relay.py), which allows UTF-8 headers.
    """
    check_header_value(name, display)
    if address.isascii() and display.isascii():  # as formataddr writes it, without its checks
        return encode_header(name, f"{_phrase(display)} <{address}>" if display else address)
    if address.isascii():
        return encode_header(name, formataddr((display, address), charset=_UTF8))
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
    lf_only = _lf_only(body)
    encoded = binascii.b2a_qp(lf_only.encode("utf-8"), quotetabs=False, istext=True)
    return encoded.replace(b"\n", b"\r\n")


# RFC 5322 2.1.1: at most 998 characters a line. A 7bit body must also be ASCII without NUL.
_LONGEST_LINE = 998


def encoded_part(subtype: str, body: str, boundary: bytes) -> bytes:
    """The part's head and body: as written (7bit) when it is ASCII in short lines, which
    costs nothing to encode and reads as written; else quoted-printable."""
    lf_only = _lf_only(body)
    if _is_7bit(lf_only):
        data = lf_only.encode("ascii")
        if boundary not in data:  # a boundary must not occur in a body (RFC 2046 5.1.1)
            return _part_head(subtype, "7bit") + data.replace(b"\n", b"\r\n")
    return _part_head(subtype, "quoted-printable") + quoted_printable(lf_only)


def _lf_only(body: str) -> str:
    # Looking for a CR first: replacing a two-character "\r\n" that is not there still costs
    # a slow search, a tenth of composing a message.
    if "\r" not in body:
        return body
    return body.replace("\r\n", "\n").replace("\r", "\n")


def _is_7bit(lf_only: str) -> bool:
    if not lf_only.isascii() or "\0" in lf_only:
        return False
    return len(lf_only) <= _LONGEST_LINE or max(map(len, lf_only.split("\n"))) <= _LONGEST_LINE


@functools.cache
def _part_head(subtype: str, encoding: str) -> bytes:
    """The part's header lines and the empty line after them."""
    return (
        f"Content-Type: text/{subtype}; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode("ascii")


@functools.lru_cache(maxsize=4)
def _date_header(second: dt.datetime) -> str:
    """RFC 5322 date, formatted once a second: a worker sends many messages in each."""
    return format_datetime(second)


class MessageSkeleton:
    """The fixed headers and MIME structure of one delivery's messages, as bytes."""

    def __init__(self, from_addr: str, reply_to: str | None, *, has_html: bool, has_text: bool):
        head = encode_address("From", from_addr)
        if reply_to:
            head += encode_address("Reply-To", reply_to)
        self._head = head + b"MIME-Version: 1.0\r\n"
        self._has_html = has_html
        self._has_text = has_text or not has_html
        # QP-encoded text never contains "=_", so this boundary cannot occur in a QP body; a
        # 7bit body is checked for it (encoded_part).
        self._boundary = f"=_mc_{secrets.token_hex(12)}".encode("ascii")
        # The last Date line, with its date in one tuple: threads may share a skeleton.
        self._last_date: tuple[dt.datetime | None, bytes] = (None, b"")

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
            self._date_line(date),
            encode_header("Message-ID", message_id),
        ]
        headers.extend(encode_header(name, value) for name, value in extra_headers)
        return b"".join(headers) + self._body(text, html)

    def _date_line(self, date: dt.datetime) -> bytes:
        # The messages of a chunk composed ahead share one `now`: one look-up for them all.
        last_date, line = self._last_date
        if date != last_date:
            line = encode_header("Date", _date_header(date.replace(microsecond=0)))
            self._last_date = (date, line)
        return line

    def _body(self, text: str, html: str) -> bytes:
        boundary = self._boundary
        if not self._has_html:
            return encoded_part("plain", text, boundary)
        if not self._has_text:
            return encoded_part("html", html, boundary)
        return b"".join(
            [
                b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n',
                b"--" + boundary + b"\r\n" + encoded_part("plain", text, boundary),
                b"\r\n--" + boundary + b"\r\n" + encoded_part("html", html, boundary),
                b"\r\n--" + boundary + b"--\r\n",
            ]
        )
