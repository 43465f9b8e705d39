"""The relay connection's own SMTP client, against aiosmtpd servers on loopback: pipelined
or not, refusals at each step of a pipelined group, a session cut mid-DATA, 421, TLS, AUTH."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from recording_relay import DROP, RecordingRelay, Script

from mailcast.config import RelaySettings
from mailcast.send.relay import Envelope, RelayConnection, RelayReply, ReplyKind, Stage
from mailcast.send.smtp_client import Refused, SmtpClient
from tls_certs import self_signed

SENDER = "b-1-abc@bounces.example.com"


def _message(recipient: str) -> Envelope:
    data = (
        f"From: news@example.com\r\nTo: {recipient}\r\nSubject: hi\r\n\r\n"
        ".a line that starts with a dot\r\nbye\r\n"
    ).encode()
    return Envelope(SENDER, recipient, data, envid="b-1-abc")


def _send_all(relay: RecordingRelay, recipients: list[str]) -> list[RelayReply]:
    """One relay connection, the messages one after the other, as a sending task does."""

    async def send() -> list[RelayReply]:
        connection = RelayConnection(RelaySettings(port=relay.port, timeout=5))
        try:
            return [await connection.send(_message(r)) for r in recipients]
        finally:
            await connection.close()

    return asyncio.run(send())


def _send_announcing(
    relay: RecordingRelay, recipients: list[str], announced: dict[int, str] | None = None
) -> list[RelayReply]:
    """As a sending task does when its next message is ready: each message's data goes with
    the next one's envelope (or, with `announced`, with the envelope of another)."""
    envelopes = [_message(r) for r in recipients]
    following = [
        envelopes[i + 1] if i + 1 < len(envelopes) else None for i in range(len(envelopes))
    ]
    for i, recipient in (announced or {}).items():
        following[i] = _message(recipient)

    async def send() -> list[RelayReply]:
        connection = RelayConnection(RelaySettings(port=relay.port, timeout=5))
        try:
            return [
                await connection.send(envelope, lambda after=after: after)  # type: ignore[misc]
                for envelope, after in zip(envelopes, following, strict=True)
            ]
        finally:
            await connection.close()

    return asyncio.run(send())


@pytest.fixture
def relay() -> Iterator[RecordingRelay]:
    with RecordingRelay() as server:
        yield server


def test_with_pipelining_the_envelope_goes_in_one_write_on_one_connection(
    relay: RecordingRelay,
) -> None:
    replies = _send_all(relay, ["a@example.com", "b@example.com", "c@example.com"])

    assert [r.kind for r in replies] == [ReplyKind.ACCEPTED] * 3
    assert [r.queue_id for r in replies] == ["Q1", "Q2", "Q3"]
    assert relay.connections == 1
    groups = relay.reads_with(b"MAIL FROM:")
    assert len(groups) == 3
    for group in groups:  # MAIL, RCPT and DATA arrived together, in one read
        assert (
            group.count(b"\r\n") == 3 and b"\r\nRCPT TO:" in group and group.endswith(b"DATA\r\n")
        )
    # Dot-stuffed on the wire, as sent once received; the DSN parameters went along.
    message = relay.messages[0]
    assert isinstance(message.content, bytes)
    assert b"\r\n.a line that starts with a dot\r\n" in message.content
    assert message.dsn_mail == {"RET": "HDRS", "ENVID": "b-1-abc"}  # type: ignore[attr-defined]
    assert message.dsn_rcpt[0]["NOTIFY"] == "SUCCESS,FAILURE,DELAY"  # type: ignore[attr-defined]


def test_the_next_envelope_goes_in_the_same_write_as_the_data_before_it(
    relay: RecordingRelay,
) -> None:
    recipients = ["a@example.com", "b@example.com", "c@example.com"]
    replies = _send_announcing(relay, recipients)

    assert [r.queue_id for r in replies] == ["Q1", "Q2", "Q3"]
    assert relay.connections == 1
    assert [m.rcpt_tos for m in relay.messages] == [[r] for r in recipients]
    # RFC 2920's "content first": the end of a message's data, then the next MAIL, RCPT, DATA.
    together = [r for r in relay.reads if b"\r\n.\r\nMAIL FROM:" in r]
    assert len(together) == 2
    assert all(r.endswith(b"DATA\r\n") and b"RCPT TO:" in r for r in together)
    message = relay.messages[1]
    assert isinstance(message.content, bytes)
    assert b"\r\n.a line that starts with a dot\r\n" in message.content


@pytest.mark.parametrize("end", [DROP, "421 4.7.0 closing connection"])
def test_when_the_session_ends_after_a_message_the_announced_one_goes_in_a_new_one(
    end: str,
) -> None:
    with RecordingRelay(Script(replies={("END", "cut@example.com"): end})) as relay:
        replies = _send_announcing(relay, ["cut@example.com", "next@example.com"])
    assert replies[0].kind is (ReplyKind.UNREACHABLE if end == DROP else ReplyKind.REFUSED)
    assert replies[1].kind is ReplyKind.ACCEPTED
    assert relay.connections == 2
    assert [m.rcpt_tos for m in relay.messages] == [["next@example.com"]]


def test_an_announced_message_that_does_not_follow_is_never_delivered() -> None:
    """Its DATA was answered 354: only ending the session keeps it from being delivered."""
    with RecordingRelay() as relay:
        replies = _send_announcing(
            relay, ["a@example.com", "c@example.com"], announced={0: "b@example.com"}
        )
        assert [r.kind for r in replies] == [ReplyKind.ACCEPTED] * 2
        assert relay.connections == 2
        # The last message announced none: the session ends with QUIT.
        assert relay.reads_with(b"QUIT")
    assert [m.rcpt_tos for m in relay.messages] == [["a@example.com"], ["c@example.com"]]


def test_a_session_closed_with_an_announced_message_delivers_nothing_more() -> None:
    async def send() -> RelayReply:
        connection = RelayConnection(RelaySettings(port=relay.port, timeout=5))
        try:
            return await connection.send(_message("a@example.com"), lambda: after)
        finally:
            await connection.close()

    after = _message("b@example.com")
    with RecordingRelay() as relay:
        assert asyncio.run(send()).kind is ReplyKind.ACCEPTED
        assert relay.reads_with(b"MAIL FROM:<b-1-abc@bounces.example.com>")
        assert not relay.reads_with(b"QUIT")
    assert [m.rcpt_tos for m in relay.messages] == [["a@example.com"]]


def test_without_pipelining_each_command_waits_for_its_reply() -> None:
    with RecordingRelay(Script(pipelining=False)) as relay:
        replies = _send_all(relay, ["a@example.com", "b@example.com"])
    assert [r.kind for r in replies] == [ReplyKind.ACCEPTED] * 2
    assert relay.reads_with(b"MAIL FROM:") and relay.reads_with(b"RCPT TO:")
    assert not [r for r in relay.reads if b"MAIL FROM:" in r and b"RCPT TO:" in r]
    assert len(relay.messages) == 2


def test_without_pipelining_no_envelope_goes_ahead_of_its_turn() -> None:
    with RecordingRelay(Script(pipelining=False)) as relay:
        replies = _send_announcing(relay, ["a@example.com", "b@example.com"])
    assert [r.kind for r in replies] == [ReplyKind.ACCEPTED] * 2
    assert not [r for r in relay.reads if b"MAIL FROM:" in r and b"\r\n.\r\n" in r]
    assert len(relay.messages) == 2


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_refused_recipient_in_the_group_is_told_and_the_session_goes_on(
    pipelining: bool,
) -> None:
    unknown = "550 5.1.1 <gone@example.com>: user unknown"
    script = Script(pipelining, {("RCPT", "gone@example.com"): unknown})
    with RecordingRelay(script) as relay:
        replies = _send_all(relay, ["gone@example.com", "next@example.com"])

    assert replies[0] == RelayReply(
        ReplyKind.REFUSED, 550, "5.1.1 <gone@example.com>: user unknown", Stage.RCPT
    )
    assert replies[1].kind is ReplyKind.ACCEPTED
    assert relay.connections == 1
    assert [m.rcpt_tos for m in relay.messages] == [["next@example.com"]]
    # The refused transaction was reset before the next one.
    assert relay.reads_with(b"RSET")


def test_an_address_that_would_break_the_command_line_never_reaches_the_wire(
    relay: RecordingRelay,
) -> None:
    evil = "x@example.com>\r\nRCPT TO:<other@example.com"
    replies = _send_all(relay, [evil, "next@example.com"])
    assert (replies[0].kind, replies[0].code, replies[0].stage) == (
        ReplyKind.REFUSED,
        501,
        Stage.RCPT,
    )
    assert not relay.reads_with(b"RCPT TO:<x@") and not relay.reads_with(b"RCPT TO:<other")
    assert [m.rcpt_tos for m in relay.messages] == [["next@example.com"]]


def test_a_refused_data_command_is_a_refusal_at_data() -> None:
    script = Script(replies={("DATA", "busy@example.com"): "451 4.3.0 try again later"})
    with RecordingRelay(script) as relay:
        replies = _send_all(relay, ["busy@example.com", "next@example.com"])
    assert replies[0] == RelayReply(ReplyKind.REFUSED, 451, "4.3.0 try again later", Stage.DATA)
    assert replies[1].kind is ReplyKind.ACCEPTED
    assert relay.connections == 1
    assert [m.rcpt_tos for m in relay.messages] == [["next@example.com"]]


@pytest.mark.parametrize("send", [_send_all, _send_announcing])
def test_a_message_refused_after_its_data_is_a_refusal_at_data(
    send: Callable[[RecordingRelay, list[str]], list[RelayReply]],
) -> None:
    """And with the next envelope sent along, the next message still goes."""
    script = Script(replies={("END", "spam@example.com"): "554 5.7.1 looks like spam"})
    with RecordingRelay(script) as relay:
        replies = send(relay, ["spam@example.com", "next@example.com"])
    assert replies[0] == RelayReply(ReplyKind.REFUSED, 554, "5.7.1 looks like spam", Stage.DATA)
    assert replies[1].kind is ReplyKind.ACCEPTED
    assert relay.connections == 1
    assert [m.rcpt_tos for m in relay.messages] == [["next@example.com"]]


def test_a_connection_dropped_mid_data_is_unreachable_and_the_next_send_reconnects() -> None:
    with RecordingRelay(Script(replies={("END", "cut@example.com"): DROP})) as relay:
        replies = _send_all(relay, ["cut@example.com", "next@example.com"])
    # No answer to the message: it may or may not have been taken.
    assert replies[0].kind is ReplyKind.UNREACHABLE
    assert replies[1].kind is ReplyKind.ACCEPTED
    assert relay.connections == 2


def test_a_421_mid_session_is_told_and_the_next_send_reconnects() -> None:
    closing = "421 4.7.0 too many messages, closing connection"
    with RecordingRelay(Script(replies={("RCPT", "many@example.com"): closing})) as relay:
        replies = _send_all(relay, ["a@example.com", "many@example.com", "b@example.com"])
    assert replies[1] == RelayReply(
        ReplyKind.REFUSED, 421, "4.7.0 too many messages, closing connection", Stage.RCPT
    )
    assert [r.kind for r in (replies[0], replies[2])] == [ReplyKind.ACCEPTED] * 2
    assert relay.connections == 2


def test_nothing_listening_and_a_refusing_greeting_are_unreachable() -> None:
    with RecordingRelay() as relay:
        closed_port = relay.port

    async def sends() -> list[RelayReply]:
        async with _tiny_server(greeting=b"554 5.7.1 no service for you\r\n") as port:
            refusing = RelayConnection(RelaySettings(port=port, timeout=5))
            nobody = RelayConnection(RelaySettings(port=closed_port, timeout=5))
            return [await c.send(_message("a@example.com")) for c in (refusing, nobody)]

    greeted, refused = asyncio.run(sends())
    assert greeted == RelayReply(ReplyKind.UNREACHABLE, 554, "5.7.1 no service for you")
    assert (refused.kind, refused.code) == (ReplyKind.UNREACHABLE, 0)
    assert refused.text.startswith("ConnectionRefusedError")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_and_login_then_pipelined_sends(tmp_path: Path, mechanism: str) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        logins.append((mechanism, auth_data.login))
        return AuthResult(success=auth_data.password == b"secret")

    options: dict[str, Any] = {
        "tls_context": server_tls,
        "authenticator": authenticate,
        "auth_require_tls": True,
        "auth_exclude_mechanism": {"PLAIN", "LOGIN"} - {mechanism},
    }
    with RecordingRelay(**options) as relay:

        async def session() -> tuple[list[str], bool]:
            client = SmtpClient(timeout=5)
            await client.connect("127.0.0.1", relay.port)
            await client.starttls(client_tls, "127.0.0.1")
            await client.login("mailcast", "secret")
            await client.send(SENDER, "a@example.com", _message("a@example.com").data, [], [])
            await client.send(SENDER, "b@example.com", _message("b@example.com").data, [], [])
            extensions = sorted(client.extensions)
            await client.quit()
            return extensions, client.is_open

        extensions, still_open = asyncio.run(session())
    assert "AUTH" in extensions and "STARTTLS" not in extensions  # the EHLO after STARTTLS
    assert logins == [(mechanism, b"mailcast")]
    assert [m.rcpt_tos for m in relay.messages] == [["a@example.com"], ["b@example.com"]]
    assert not still_open
    # Pipelined over TLS too (the server reads what TLS decrypted).
    assert all(b"RCPT TO:" in read for read in relay.reads_with(b"MAIL FROM:"))


def test_implicit_tls(tmp_path: Path) -> None:
    server_tls, client_tls = self_signed(tmp_path)

    async def session() -> tuple[str, list[bytes]]:
        async with _tiny_server(tls=server_tls) as port:
            client = SmtpClient(timeout=5)
            await client.connect("127.0.0.1", port, client_tls)
            reply = await client.send(SENDER, "a@example.com", b"Subject: hi\r\n\r\nhi", [], [])
            await client.quit()
            return reply.text, _tiny_reads

    text, reads = asyncio.run(session())
    assert text == "2.0.0 Ok: queued as T1"
    assert b"MAIL FROM:<b-1-abc@bounces.example.com>\r\n" in reads
    assert b"DATA\r\nSubject: hi\r\n\r\nhi\r\n.\r\nQUIT\r\n" in b"".join(reads)


def test_a_relay_that_stops_answering_times_out_as_unreachable() -> None:
    async def send() -> RelayReply:
        async with _tiny_server(hang_after_data=True) as port:
            connection = RelayConnection(RelaySettings(port=port, timeout=0.2))
            return await connection.send(_message("a@example.com"))

    reply = asyncio.run(send())
    assert (reply.kind, reply.code) == (ReplyKind.UNREACHABLE, 0)
    assert reply.text.startswith("TimeoutError: no answer from the relay in 0.2 s")


def test_a_login_refused_is_told() -> None:
    def refuse(*_args: object) -> AuthResult:
        return AuthResult(success=False, handled=False)

    with RecordingRelay(authenticator=refuse, auth_require_tls=False) as relay:

        async def session() -> str:
            client = SmtpClient(timeout=5)
            await client.connect("127.0.0.1", relay.port)
            try:
                await client.login("mailcast", "wrong")
            except Refused as exc:
                return f"{exc.command} {exc.reply.code}"
            finally:
                client.abort()
            return "logged in"

        assert asyncio.run(session()) == "AUTH 535"


_tiny_reads: list[bytes] = []


@contextlib.asynccontextmanager
async def _tiny_server(
    *,
    greeting: bytes = b"220 tiny ESMTP\r\n",
    tls: ssl.SSLContext | None = None,
    hang_after_data: bool = False,
) -> AsyncIterator[int]:
    """A minimal SMTP server in the test's own loop: it greets, then accepts everything."""
    _tiny_reads.clear()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        data = False
        while line := await reader.readline():
            _tiny_reads.append(line)
            if data:
                data = line != b".\r\n"
                if not data and not hang_after_data:
                    writer.write(b"250 2.0.0 Ok: queued as T1\r\n")
                continue
            verb = line[:4].upper()
            replies = {b"EHLO": b"250-tiny\r\n250 PIPELINING\r\n", b"DATA": b"354 go on\r\n"}
            writer.write(replies.get(verb, b"221 bye\r\n" if verb == b"QUIT" else b"250 OK\r\n"))
            data = verb == b"DATA"
            if verb == b"QUIT":
                break
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    async with server:
        yield server.sockets[0].getsockname()[1]
