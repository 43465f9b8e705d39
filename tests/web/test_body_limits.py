"""Request bodies are capped before anything reads them: real HTTP to the app under uvicorn,
from a raw socket that keeps sending until the server answers."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from mailcast.context import Context
from mailcast.store.tables import profiles
from mailcast.users.service import User, create_token
from mailcast.web.in_thread import WebServer

CHUNK = 64 * 1024
WAIT = 10.0  # seconds the server may take to answer (not a timing assertion)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client had sent when the server answered

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"] == "application/problem+json"
        body: dict[str, Any] = json.loads(self.body)
        return body


@pytest.fixture
def base_url(ctx: Context) -> Iterator[str]:
    with WebServer(ctx) as web:
        yield web.base_url


def post(base_url: str, path: str, chunks: Iterable[bytes], headers: dict[str, str]) -> Answer:
    """POST `chunks` as a chunked body, stopping as soon as the server answers."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=WAIT) as sock:
        head = {"Host": url.netloc, "Transfer-Encoding": "chunked", **headers}
        lines = "".join(f"{name}: {value}\r\n" for name, value in head.items())
        sock.sendall(f"POST {path} HTTP/1.1\r\n{lines}\r\n".encode())
        sent = _send_until_answered(sock, chunks)
        return _answer(_read_all(sock), sent)


def _send_until_answered(sock: socket.socket, chunks: Iterable[bytes]) -> int:
    sent = 0
    try:
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                return sent  # answered: the rest is never sent
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server answered and closed while the body was on its way
        pass
    return sent


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while block := sock.recv(65536):
            data += block
            if _complete(data):
                break
    except ConnectionResetError:
        pass
    return data


def _complete(data: bytes) -> bool:
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    length = _headers(head).get("content-length")
    return length is not None and len(body) >= int(length)


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _answer(data: bytes, sent: int) -> Answer:
    head, _, body = data.partition(b"\r\n\r\n")
    assert head, "the server did not answer"
    return Answer(int(head.split()[1]), _headers(head), body, sent)


def _junk(total: int) -> Iterator[bytes]:
    """A JSON object that never ends: `total` bytes of it, a chunk at a time."""
    yield b'{"name": "'
    for _ in range(total // CHUNK):
        yield b"x" * CHUNK


def test_a_huge_chunked_body_without_a_token_is_refused_before_it_is_read(
    ctx: Context, base_url: str
) -> None:
    total = 64 * 1024 * 1024
    answer = post(base_url, "/api/deliveries", _junk(total), {"Content-Type": "application/json"})
    assert answer.status == 413  # not 401: nothing looked at the request before its size
    problem = answer.problem()
    assert problem["status"] == 413
    assert "web.max_body_bytes" in problem["detail"]
    assert problem["limit"] == ctx.settings.web.max_body_bytes == 1024 * 1024
    # Answered while the client was still sending: the body was never buffered whole.
    assert answer.sent < total // 4


def test_a_declared_length_over_the_cap_is_refused_before_the_body_comes(
    ctx: Context, base_url: str
) -> None:
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=WAIT) as sock:
        sock.sendall(
            f"POST /api/deliveries HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n".encode()
        )
        answer = _answer(_read_all(sock), 0)  # not a byte of the body sent
    assert answer.status == 413
    assert "web.max_body_bytes" in answer.problem()["detail"]


@pytest.mark.parametrize(
    ("path", "content_type", "setting"),
    [
        ("/api/deliveries", "application/json", "max_body_bytes"),
        ("/dashboard/login", "application/x-www-form-urlencoded", "max_body_bytes"),
        ("/t/u/not-a-token", "application/x-www-form-urlencoded", "max_body_bytes"),
        ("/webhooks/sendgrid", "application/json", "max_webhook_bytes"),
        ("/healthz", "text/plain", "max_body_bytes"),
    ],
)
def test_every_route_answers_413_past_its_cap(
    ctx: Context, base_url: str, path: str, content_type: str, setting: str
) -> None:
    setattr(ctx.settings.web, setting, 64 * 1024)
    answer = post(base_url, path, _junk(4 * 1024 * 1024), {"Content-Type": content_type})
    assert answer.status == 413, answer.body
    assert f"web.{setting}" in answer.problem()["detail"]


# --- The CSV upload: streamed to disk, under a cap of its own --------------------------------

BOUNDARY = "mailcast-test-boundary"


def _upload(rows: int) -> Iterator[bytes]:
    """A multipart/form-data upload of a CSV file of `rows` profiles, a chunk at a time."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nemail,first_name\r\n"
    ).encode()
    for start in range(0, rows, 1000):
        lines = (f"reader{n}@example.com,Reader{n:040d}\r\n" for n in range(start, start + 1000))
        yield "".join(lines).encode()
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _import(base_url: str, token: str, rows: int) -> Answer:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    return post(base_url, "/api/profiles/import?list=news", _upload(rows), headers)


def _profiles(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(profiles)).scalar_one())


def test_a_csv_upload_past_its_cap_is_refused_and_imports_nothing(
    ctx: Context, marie: User, base_url: str
) -> None:
    ctx.settings.web.max_upload_bytes = 1024 * 1024
    token = create_token(ctx.db, marie, "test", ctx.clock)
    answer = _import(base_url, token, 100_000)  # about 7 MB
    assert answer.status == 413, answer.body
    assert "web.max_upload_bytes" in answer.problem()["detail"]
    assert _profiles(ctx) == 0


def test_a_csv_upload_may_be_larger_than_the_cap_of_other_bodies(
    ctx: Context, marie: User, base_url: str
) -> None:
    ctx.settings.web.max_body_bytes = 64 * 1024
    token = create_token(ctx.db, marie, "test", ctx.clock)
    answer = _import(base_url, token, 20_000)  # about 1.4 MB
    assert answer.status == 200, answer.body
    assert json.loads(answer.body)["imported"] == 20_000
    assert _profiles(ctx) == 20_000
