"""The receiver answers pipelined commands (RFC 2920) together, each reply in its place."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from mailcast.context import Context
from mailcast.feedback.receiver import BounceReceiver


def _replies(sock: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(b"\r\n") < count:
        chunk = sock.recv(65536)
        assert chunk, "the receiver hung up"
        data += chunk
    return data.split(b"\r\n")[:count]


def test_the_replies_to_pipelined_commands_go_in_one_write(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    write = asyncio.StreamWriter.write

    def counted(self: asyncio.StreamWriter, data: Any) -> None:
        writes.append(bytes(data))
        write(self, data)

    monkeypatch.setattr(asyncio.StreamWriter, "write", counted)
    postmaster = f"postmaster@{ctx.settings.bounce_domain}"
    with (
        BounceReceiver(ctx, port=0) as receiver,
        socket.create_connection(("127.0.0.1", receiver.port), timeout=30) as sock,
    ):
        assert _replies(sock, 1)[0].startswith(b"220")
        sock.sendall(b"HELO mx.example\r\n")
        assert _replies(sock, 1)[0].startswith(b"250")
        sock.sendall(f"MAIL FROM:<>\r\nRCPT TO:<{postmaster}>\r\nDATA\r\n".encode())
        assert [r[:3] for r in _replies(sock, 3)] == [b"250", b"250", b"354"]
        sock.sendall(b"Subject: hi\r\n\r\nhello\r\n.\r\nNOOP\r\nQUIT\r\n")
        replies = _replies(sock, 3)
        assert [r[:3] for r in replies] == [b"250", b"250", b"221"]
        assert b"kept as report" in replies[0]
    # One write for the three replies to MAIL, RCPT and DATA; one for the last three.
    assert [w.count(b"\r\n") for w in writes] == [1, 1, 3, 3]


def test_an_idle_connection_is_closed_and_a_busy_one_is_not(ctx: Context) -> None:
    ctx.settings.bounces.timeout_seconds = 0.5
    with (
        BounceReceiver(ctx, port=0) as receiver,
        socket.create_connection(("127.0.0.1", receiver.port), timeout=30) as busy,
        socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as idle,
    ):
        assert _replies(busy, 1)[0].startswith(b"220")
        assert _replies(idle, 1)[0].startswith(b"220")
        # Commands every 0.2 s for twice the timeout: each one counts as activity.
        for _ in range(5):
            busy.sendall(b"NOOP\r\n")
            assert _replies(busy, 1)[0].startswith(b"250")
            time.sleep(0.2)
        assert idle.recv(1024) == b""  # closed by the receiver, nothing said
        busy.sendall(b"QUIT\r\n")
        assert _replies(busy, 1)[0].startswith(b"221")
