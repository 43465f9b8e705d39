"""Well-formed mail read into the email package's own Message tree, without its line parser.

The email package's FeedParser reads a message line by line through generators: most of
the time a bounce takes to read. This reader builds the same tree (compat32 `Message`
objects, headers set as FeedParser sets them, the same payloads) for what it is sure to read
the same way, and says `None` for anything else: no boundary, a boundary never closed,
header lines that are not fields, an mbox From_ line, deep nesting, a digest. The caller
then uses the email package (mime.load).
"""

from __future__ import annotations

import itertools
import re
from email._policybase import compat32
from email.message import Message

from mailcast.feedback import params

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # FeedParser's line ends, kept
FIELD = re.compile(r"[\041-\071\073-\176]+:")  # a field name and its colon
_BLANK = frozenset({"\r\n", "\n", "\r"})
_PLAIN_TRANSFER = frozenset({"7bit", "8bit", "binary"})
MAX_DEPTH = 8


class _Unsure(Exception):
    """Outside what this reader is sure to read as the email package does."""


def load(raw: bytes) -> Message | None:
    """The message as `email.message_from_bytes` reads it; None when not sure to."""
    lines = _LINE.findall(raw.decode("ascii", "surrogateescape"))
    try:
        return _Reader(lines).message(0, len(lines), 0)
    except _Unsure:
        return None


def headers(text: str) -> Message | None:
    """The header fields of the text, the rest its payload, as the email package's
    HeaderParser reads them; None when not sure to."""
    lines = _LINE.findall(text)
    msg = Message(policy=compat32)
    try:
        body = _Reader(lines)._headers(msg, 0, len(lines))
    except _Unsure:
        return None
    msg.set_payload("".join(lines[body:]))
    return msg


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.last: Message | None = None  # the message made last (FeedParser's `_last`)

    def message(self, start: int, end: int, depth: int) -> Message:
        if depth > MAX_DEPTH:
            raise _Unsure
        msg = Message(policy=compat32)
        self.last = msg
        body = self._headers(msg, start, end)
        kind = msg.get_content_type()
        if kind == "message/delivery-status":
            self._status_blocks(msg, body, end)
        elif kind.startswith("message/"):
            msg.attach(self.message(body, end, depth + 1))
        elif kind.startswith("multipart/"):
            self._multipart(msg, kind, body, end, depth)
        else:
            msg.set_payload("".join(self.lines[body:end]))
        return msg

    def _headers(self, msg: Message, start: int, end: int) -> int:
        """Set the header fields; the index of the body's first line."""
        lines = self.lines
        fields: list[list[str]] = []
        i = start
        if i < end and lines[i].startswith("From "):
            raise _Unsure  # an mbox From_ line
        while i < end:
            line = lines[i]
            i += 1
            if line[:1] in (" ", "\t"):
                if not fields:
                    raise _Unsure  # a continuation with nothing to continue
                fields[-1].append(line)
            elif line in _BLANK:
                break
            elif FIELD.match(line):
                fields.append([line])
            else:
                raise _Unsure  # not a field: FeedParser would start the body here
        for source in fields:  # as compat32.header_source_parse, without its call per field
            name, _, value = source[0].partition(":")
            value = value.lstrip(" \t")
            if len(source) > 1:
                value += "".join(source[1:])
            msg.set_raw(name, value.rstrip("\r\n"))
        return i

    def _status_blocks(self, msg: Message, start: int, end: int) -> None:
        """message/delivery-status: each block of fields a message of its own, as FeedParser
        reads it (a blank line between blocks; one more makes an empty block)."""
        i = start
        while True:
            j = i
            while j < end and self.lines[j] not in _BLANK:
                j += 1
            block = Message(policy=compat32)
            self.last = block
            msg.attach(block)
            self._headers(block, i, j)
            if block.get_content_maintype() in ("message", "multipart"):
                raise _Unsure  # FeedParser reads a body (or an epilogue) into such a block
            block.set_payload("")
            if j + 1 >= end:
                return
            i = j + 1

    def _multipart(self, msg: Message, kind: str, start: int, end: int, depth: int) -> None:
        if kind == "multipart/digest":
            raise _Unsure  # its parts default to message/rfc822
        boundary = params.boundary(msg)
        encoding = str(msg.get("content-transfer-encoding", "8bit")).lower()
        if boundary is None or encoding not in _PLAIN_TRANSFER:
            raise _Unsure
        separator, lines = "--" + boundary, self.lines
        delimiters = [
            (i, close)
            for i in range(start, end)
            if lines[i].startswith(separator)
            and (close := _delimiter(lines[i], separator)) is not None
        ]
        if not delimiters or delimiters[0][1]:
            raise _Unsure  # no first delimiter
        if not any(close for _, close in delimiters):
            raise _Unsure  # never closed
        first = delimiters[0][0]
        if first > start:
            msg.preamble = _without_line_end("".join(self.lines[start:first]))
        for (i, close), (j, _) in itertools.pairwise(delimiters):
            if close:
                break
            if j == i + 1:
                raise _Unsure  # delimiters one after the other
            msg.attach(self.message(i + 1, j, depth + 1))
            _trim(self.last)
            self.last = msg
        msg.epilogue = self._epilogue(delimiters, end)

    def _epilogue(self, delimiters: list[tuple[int, bool]], end: int) -> str:
        close = next(i for i, closing in delimiters if closing)
        return "".join(self.lines[close + 1 : end])


def _delimiter(line: str, separator: str) -> bool | None:
    """None: not a boundary line; else whether it closes (RFC 2046, FeedParser's reading)."""
    rest = line[len(separator) :]
    close = rest.startswith("--")
    if close:
        rest = rest[2:]
    if rest.endswith("\r\n"):
        rest = rest[:-2]
    elif rest.endswith(("\n", "\r")):
        rest = rest[:-1]
    return close if not rest.strip(" \t") else None


def _trim(last: Message | None) -> None:
    """The line end before a delimiter belongs to it, not to the part that ends there."""
    if last is None:
        return
    if last.get_content_maintype() == "multipart":
        epilogue = last.epilogue
        if epilogue == "":
            last.epilogue = None
        elif epilogue is not None:
            last.epilogue = _without_line_end(epilogue)
        return
    payload = last._payload  # type: ignore[attr-defined]  # as stored: get_payload decodes
    if isinstance(payload, str):
        last.set_payload(_without_line_end(payload))


def _without_line_end(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\n", "\r")) else text
