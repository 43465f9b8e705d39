"""The receiver reads DATA as aiosmtpd does: the same replies, the same message, for any shape.

Each case goes byte for byte to a plain aiosmtpd server and to the receiver's SMTP class,
over loopback, both with the same handler; what each answered and kept must be equal.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcast.feedback.receiver import _ReceiverSMTP

SIZE_LIMIT = 4096


class _Keep:
    """Keeps what each DATA brought."""

    def __init__(self) -> None:
        self.kept: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.kept.append(envelope.original_content or b"")
        return "250 OK kept"


class _Plain(Controller):
    def factory(self) -> SMTP:
        return SMTP(self.handler, data_size_limit=SIZE_LIMIT, enable_SMTPUTF8=True)


class _Ours(Controller):
    def factory(self) -> SMTP:
        return _ReceiverSMTP(
            self.handler, lambda _: None, data_size_limit=SIZE_LIMIT, enable_SMTPUTF8=True
        )


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    started = {}
    for name, kind in (("aiosmtpd", _Plain), ("receiver", _Ours)):
        handler = _Keep()
        controller = kind(handler, hostname="127.0.0.1", port=_free_port())
        controller.start()
        started[name] = (controller, handler)
    yield started
    for controller, _ in started.values():
        controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port(controller: Controller) -> int:
    return int(controller.port)


def _dialogue(port: int, writes: list[bytes], replies_wanted: int) -> list[bytes]:
    """Greeting, EHLO, MAIL, RCPT, DATA, then the writes as given; the replies read."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        stream = sock.makefile("rb")
        sock.sendall(b"EHLO client.example\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n")
        replies = [_reply(stream) for _ in range(5)]
        for write in writes:
            sock.sendall(write)
        replies += [_reply(stream) for _ in range(replies_wanted)]
    return replies


def _reply(stream: Any) -> bytes:
    lines = []
    while True:
        line = stream.readline()
        lines.append(line)
        if line[3:4] != b"-":
            return b"".join(lines)


def _compare(servers: dict[str, Any], writes: list[bytes], replies_wanted: int = 1) -> bytes:
    seen = {}
    for name, (controller, handler) in servers.items():
        before = len(handler.kept)
        replies = _dialogue(_port(controller), writes, replies_wanted)
        kept = handler.kept[before:]
        seen[name] = (replies[4:], kept)
    assert seen["receiver"] == seen["aiosmtpd"]
    replies, kept = seen["receiver"]
    return kept[0] if kept else b""


LINES = [
    b"Subject: plain\r\n\r\nhello\r\n",
    b"",
    b"one line, no header\r\n",
    b"..a line that began with a dot\r\n.x\r\n..\r\n...\r\n",
    b"Sentences end with a dot.\r\nSo does this one.\r\n.\r\n"[: -len(b".\r\n")],
    b"bare\nline feeds\n.\nare not line ends\r\n",
    b"a lone \r carriage return \r\n",
    b"x" * 999 + b"\r\n",
    b"x" * 1000 + b"\r\n",
    b"x" * 1001 + b"\r\n",
    b"short\r\n" + b"y" * 3000 + b"\r\nafter\r\n",
    b"z" * 70 + b"\r\n" + (b"w" * 70 + b"\r\n") * 40,
    (b"q" * 98 + b"\r\n") * 40 + b"r" * 94 + b"\r\n",  # 4,096 bytes: at the limit
    (b"q" * 98 + b"\r\n") * 41,  # over it
    (b"q" * 98 + b"\r\n") * 41 + b"x" * 2000 + b"\r\n",  # over it, and a line too long
    b"ends without a line end",
    "8-bit: jörg@bücher.example\r\n".encode(),
]


@pytest.mark.parametrize("data", LINES, ids=range(len(LINES)))
def test_the_receiver_reads_data_as_aiosmtpd(servers: dict[str, Any], data: bytes) -> None:
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    stuffed = b"." + stuffed if stuffed.startswith(b".") else stuffed
    end = b".\r\n" if data.endswith(b"\r\n") or not data else b"\r\n.\r\n"
    _compare(servers, [stuffed + end])


def test_the_end_of_data_split_across_reads_is_found(servers: dict[str, Any]) -> None:
    data = b"Subject: split\r\n\r\nline.\r\n..dot\r\nend.\r\n.\r\n"
    kept = _compare(servers, [bytes([b]) for b in data])
    assert kept == b"Subject: split\r\n\r\nline.\r\n.dot\r\nend.\r\n"


@pytest.mark.parametrize("cut", [1, 2, 3, 4, 1000, 1001, 1002])
def test_a_read_cut_anywhere_near_a_line_end_reads_the_same(
    servers: dict[str, Any], cut: int
) -> None:
    data = b"a" * 997 + b".\r\n..b\r\n" + b"c" * 10 + b"\r\n.\r\n"
    _compare(servers, [data[:cut], data[cut:]])
    _compare(servers, [data[: len(data) - cut], data[len(data) - cut :]])


def test_commands_after_the_data_in_the_same_write_are_answered(
    servers: dict[str, Any],
) -> None:
    writes = [b"first\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nsecond\r\n.\r\n"]
    seen = {}
    for name, (controller, handler) in servers.items():
        before = len(handler.kept)
        seen[name] = (_dialogue(_port(controller), writes, 5)[4:], handler.kept[before:])
    assert seen["receiver"] == seen["aiosmtpd"]
    assert seen["receiver"][1] == [b"first\r\n", b"second\r\n"]
