"""The sandbox MTA over real loopback SMTP: recording, per-address rules, DSN parameters."""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import aiosmtplib
import pytest

from mailcast.clock import ManualClock
from mailcast.sandbox.mta import Received, Rule, SandboxMTA, prefix_rules, run_sandbox

MESSAGE = (
    b"From: Shop <news@shop.example>\r\n"
    b"To: ann@example.org\r\n"
    b"Subject: Spring sale\r\n"
    b"Message-ID: <m42.d7@mailcast.localhost>\r\n"
    b"X-Mailcast-Message: 42\r\n"
    b"\r\n"
    b"Hello Ann\r\n"
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def mta(clock: ManualClock) -> Iterator[SandboxMTA]:
    with SandboxMTA(port=0, clock=clock) as server:
        yield server


def _smtp(mta: SandboxMTA) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", mta.port, timeout=10)
    client.ehlo("client.example")
    return client


# --- Accepting and recording ----------------------------------------------------------------


def test_accepted_mail_is_recorded_with_envelope_and_headers(
    mta: SandboxMTA, clock: ManualClock
) -> None:
    with _smtp(mta) as client:
        refused = client.sendmail(
            "bounce+42@b.example", ["ann@example.org", "bo@x.example"], MESSAGE
        )

    assert refused == {}
    assert mta.wait_for(1, timeout=5)
    (got,) = mta.received()
    assert got.mail_from == "bounce+42@b.example"
    assert got.recipients == ("ann@example.org", "bo@x.example")
    assert got.data == MESSAGE
    assert got.size == len(MESSAGE)
    assert got.message_id == "<m42.d7@mailcast.localhost>"
    assert got.mailcast_message == "42"
    assert got.received_at == clock.now()
    assert mta.count == 1
    assert mta.recipients_counter() == {"ann@example.org": 1, "bo@x.example": 1}
    assert mta.mailcast_messages_counter() == {"42": 1}


def test_data_reply_carries_a_queue_id(mta: SandboxMTA) -> None:
    with _smtp(mta) as client:
        client.mail("a@b.example")
        client.rcpt("ann@example.org")
        code, reply = client.data(MESSAGE)
    assert code == 250
    (got,) = mta.received()
    assert reply.decode().endswith(f"queued as {got.queue_id}")


def test_ehlo_advertises_the_extensions_a_relay_looks_for(mta: SandboxMTA) -> None:
    with _smtp(mta) as client:
        features = set(client.esmtp_features)
    assert {"pipelining", "8bitmime", "smtputf8", "dsn", "size"} <= features


def test_messages_without_mailcast_headers_and_null_sender(mta: SandboxMTA) -> None:
    with _smtp(mta) as client:
        client.sendmail("<>", ["ann@example.org"], b"Subject: plain\r\n\r\nbody\r\n")
    (got,) = mta.received()
    assert got.mail_from == "<>"
    assert got.message_id is None and got.mailcast_message is None


def test_folded_header_is_unfolded(mta: SandboxMTA) -> None:
    message = b"Message-ID:\r\n <long@id.example>\r\nX-Mailcast-Message: 7\r\n\r\nx\r\n"
    with _smtp(mta) as client:
        client.sendmail("a@b.example", ["ann@example.org"], message)
    (got,) = mta.received()
    assert got.message_id == "<long@id.example>"


def test_utf8_addresses_are_accepted(mta: SandboxMTA) -> None:
    with _smtp(mta) as client:
        client.sendmail(
            "a@b.example", ["jürgen@例え.jp"], "Subject: ü\r\n\r\nü\r\n".encode(), ["SMTPUTF8"]
        )
    (got,) = mta.received()
    assert got.recipients == ("jürgen@例え.jp",)
    assert "SMTPUTF8" in got.mail_params


def test_same_recipient_counted_each_time(mta: SandboxMTA) -> None:
    with _smtp(mta) as client:
        for _ in range(3):
            client.sendmail("a@b.example", ["ann@example.org"], MESSAGE)
    assert mta.recipients_counter()["ann@example.org"] == 3
    assert mta.mailcast_messages_counter()["42"] == 3


def test_without_bodies_only_counts_are_kept(clock: ManualClock) -> None:
    seen: list[Received] = []
    with SandboxMTA(keep_bodies=False, clock=clock, on_message=seen.append) as mta:
        with _smtp(mta) as client:
            for i in range(5):
                client.sendmail("a@b.example", [f"r{i}@example.org"], MESSAGE)
        assert mta.wait_for(5, timeout=5)
        assert mta.count == 5
        assert mta.received() == []
        assert len(mta.recipients_counter()) == 5
    assert [m.recipients for m in seen] == [(f"r{i}@example.org",) for i in range(5)]


def test_a_failing_listener_does_not_refuse_the_message() -> None:
    def broken(_: Received) -> None:
        raise RuntimeError("listener bug")

    with SandboxMTA(on_message=broken) as mta, _smtp(mta) as client:
        assert client.sendmail("a@b.example", ["ann@example.org"], MESSAGE) == {}
        assert mta.count == 1


def test_wait_for_times_out(mta: SandboxMTA) -> None:
    assert mta.wait_for(1, timeout=0.05) is False


def test_reset_forgets_everything(mta: SandboxMTA) -> None:
    with _smtp(mta) as client:
        client.sendmail("a@b.example", ["ann@example.org"], MESSAGE)
    mta.reset()
    assert mta.count == 0 and mta.received() == [] and not mta.recipients_counter()


# --- Per-address rules ----------------------------------------------------------------------


def test_rules_refuse_some_recipients_and_accept_the_others(mta: SandboxMTA) -> None:
    recipients = ["ann@example.org", "unknown-7@example.org", "Full.box@example.org", "bo@x.io"]
    with _smtp(mta) as client:
        refused = client.sendmail("a@b.example", recipients, MESSAGE)

    assert refused["unknown-7@example.org"][0] == 550
    assert refused["unknown-7@example.org"][1].startswith(b"5.1.1 <unknown-7@example.org>")
    assert refused["Full.box@example.org"][0] == 452
    assert refused["Full.box@example.org"][1].startswith(b"4.2.2")
    (got,) = mta.received()
    assert got.recipients == ("ann@example.org", "bo@x.io")
    assert [(r.recipient, r.code) for r in mta.refusals()] == [
        ("unknown-7@example.org", 550),
        ("Full.box@example.org", 452),
    ]


def test_all_recipients_refused_means_no_message(mta: SandboxMTA) -> None:
    with _smtp(mta) as client, pytest.raises(smtplib.SMTPRecipientsRefused):
        client.sendmail("a@b.example", ["unknown@example.org"], MESSAGE)
    assert mta.count == 0


def test_custom_rules_table() -> None:
    rules = prefix_rules((Rule("blocked", 554, "5.7.1 <{address}>: refused by policy"),))
    with SandboxMTA(rules=rules) as mta, _smtp(mta) as client:
        refused = client.sendmail("a@b.example", ["blocked@x.io", "unknown@x.io"], MESSAGE)
    assert refused == {"blocked@x.io": (554, b"5.7.1 <blocked@x.io>: refused by policy")}
    assert mta.recipients_counter() == {"unknown@x.io": 1}


# --- RFC 3461 (DSN) parameters --------------------------------------------------------------


def test_dsn_parameters_are_accepted_and_recorded(mta: SandboxMTA) -> None:
    with _smtp(mta) as client:
        assert client.mail("bounce@b.example", ["ENVID=abc", "RET=HDRS", "SIZE=200"])[0] == 250
        assert (
            client.rcpt("x@y.example", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;x@y.example"])[0]
            == 250
        )
        assert client.rcpt("unknown@y.example", ["NOTIFY=FAILURE"])[0] == 550
        assert (
            client.rcpt("z@y.example", ["NOTIFY=NEVER", "ORCPT=rfc822;Z+2Btag@y.example"])[0] == 250
        )
        assert client.data(MESSAGE)[0] == 250

    (got,) = mta.received()
    # Values keep their case (aiosmtpd would upper-case them) and xtext is decoded.
    assert got.mail_params["ENVID"] == "abc"
    assert got.mail_params["RET"] == "HDRS"
    assert got.mail_params["SIZE"] == "200"
    assert got.recipients == ("x@y.example", "z@y.example")
    assert got.params_for("x@y.example") == {
        "NOTIFY": "SUCCESS,FAILURE",
        "ORCPT": "rfc822;x@y.example",
    }
    assert got.params_for("z@y.example") == {"NOTIFY": "NEVER", "ORCPT": "rfc822;Z+tag@y.example"}


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("rcpt", ["NOTIFY=SOMETIMES"]),
        ("rcpt", ["NOTIFY=NEVER,SUCCESS"]),
        ("rcpt", ["ORCPT=no-type"]),
        ("mail", ["RET=ALL"]),
    ],
)
def test_malformed_dsn_parameters_are_refused(
    mta: SandboxMTA, command: str, options: list[str]
) -> None:
    with _smtp(mta) as client:
        if command == "rcpt":
            client.mail("a@b.example")
            code, text = client.rcpt("x@y.example", options)
        else:
            code, text = client.mail("a@b.example", options)
    assert code == 501 and b"5.5.4" in text


def test_unknown_parameters_are_still_refused(mta: SandboxMTA) -> None:
    with _smtp(mta) as client:
        assert client.mail("a@b.example", ["FOO=bar"])[0] == 555
        client.rset()
        client.mail("a@b.example")
        assert client.rcpt("x@y.example", ["NOTIFY=FAILURE", "FOO=bar"])[0] == 555


def test_dsn_parameters_need_ehlo(mta: SandboxMTA) -> None:
    client = smtplib.SMTP("127.0.0.1", mta.port, timeout=10)
    try:
        client.helo("old.example")
        code, _ = client.docmd("MAIL FROM:<a@b.example> ENVID=abc")
        assert code == 501
    finally:
        client.quit()


# --- Pipelining and other clients -----------------------------------------------------------


def _read_replies(sock: socket.socket, count: int) -> list[bytes]:
    """Read `count` complete (possibly multi-line) SMTP replies; return their last lines."""
    buffer, replies = b"", list[bytes]()
    while len(replies) < count:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {replies}"
        buffer += chunk
        while b"\r\n" in buffer and len(replies) < count:
            line, buffer = buffer.split(b"\r\n", 1)
            if line[3:4] == b" ":
                replies.append(line)
    return replies


def test_pipelined_commands_get_one_reply_each_in_order(mta: SandboxMTA) -> None:
    with socket.create_connection(("127.0.0.1", mta.port), timeout=10) as sock:
        assert _read_replies(sock, 1)[0].startswith(b"220")
        sock.sendall(b"EHLO client.example\r\n")
        assert _read_replies(sock, 1)[0].startswith(b"250")
        # RFC 2920: the whole envelope in one write, DATA last in the group.
        sock.sendall(
            b"MAIL FROM:<a@b.example> ENVID=p1 RET=HDRS\r\n"
            b"RCPT TO:<ann@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ann@example.org\r\n"
            b"RCPT TO:<unknown@example.org>\r\n"
            b"RCPT TO:<bo@example.org>\r\n"
            b"DATA\r\n"
        )
        replies = _read_replies(sock, 5)
        assert [r[:3] for r in replies] == [b"250", b"250", b"550", b"250", b"354"]
        # A second transaction pipelined behind the first message's end.
        sock.sendall(
            MESSAGE + b".\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<cy@example.org>\r\nDATA\r\n"
        )
        assert [r[:3] for r in _read_replies(sock, 4)] == [b"250", b"250", b"250", b"354"]
        sock.sendall(MESSAGE + b".\r\nQUIT\r\n")
        assert [r[:3] for r in _read_replies(sock, 2)] == [b"250", b"221"]

    first, second = mta.received()
    assert first.recipients == ("ann@example.org", "bo@example.org")
    assert first.mail_params["ENVID"] == "p1"
    assert first.params_for("ann@example.org")["ORCPT"] == "rfc822;ann@example.org"
    assert second.recipients == ("cy@example.org",)


def test_aiosmtplib_sends_with_dsn_options(mta: SandboxMTA) -> None:
    message = EmailMessage()
    message["From"] = "news@shop.example"
    message["To"] = "ann@example.org"
    message["Subject"] = "hi"
    message["X-Mailcast-Message"] = "9"
    message.set_content("hello")

    async def send() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=mta.port) as client:
            for i in range(3):
                await client.send_message(
                    message,
                    sender="b@b.example",
                    recipients=[f"r{i}@example.org", "unknown@example.org"],
                    mail_options=["ENVID=e9", "RET=HDRS"],
                    rcpt_options=["NOTIFY=FAILURE"],
                )

    asyncio.run(send())
    assert mta.wait_for(3, timeout=5)
    assert [m.recipients for m in mta.received()] == [(f"r{i}@example.org",) for i in range(3)]
    assert {m.mail_params["ENVID"] for m in mta.received()} == {"e9"}
    assert mta.mailcast_messages_counter() == {"9": 3}


def test_many_concurrent_connections(mta: SandboxMTA) -> None:
    async def one(i: int) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=mta.port) as client:
            for j in range(10):
                await client.sendmail("a@b.example", [f"r{i}-{j}@example.org"], MESSAGE)

    async def all_of_them() -> None:
        await asyncio.gather(*(one(i) for i in range(10)))

    asyncio.run(all_of_them())
    assert mta.wait_for(100, timeout=10)
    assert len(mta.recipients_counter()) == 100


# --- Lifecycle ------------------------------------------------------------------------------


def test_port_zero_picks_a_free_port_and_stop_releases_it() -> None:
    with SandboxMTA(port=0) as one, SandboxMTA(port=0) as two:
        assert one.port and two.port and one.port != two.port
        port = one.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_busy_port_is_reported() -> None:
    with SandboxMTA() as first, pytest.raises(OSError):
        SandboxMTA(port=first.port).start()


def test_stop_closes_open_sessions() -> None:
    mta = SandboxMTA().start()
    client = _smtp(mta)
    mta.stop()
    try:
        with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
            client.mail("a@b.example")
            client.rcpt("x@y.example")
    finally:
        client.close()


def test_run_sandbox_serves_until_stopped() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = threading.Event()
    lines: list[str] = []
    result: list[int] = []
    runner = threading.Thread(
        target=lambda: result.append(
            run_sandbox("127.0.0.1", port, out=lines.append, stop=stop, report_every=0.05)
        )
    )
    runner.start()
    try:
        deadline = dt.datetime.now() + dt.timedelta(seconds=5)
        while not lines and dt.datetime.now() < deadline:
            stop.wait(0.01)
        assert lines and f"127.0.0.1:{port}" in lines[0]
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("a@b.example", ["ann@example.org"], MESSAGE)
    finally:
        stop.set()
        runner.join(10)
    assert result == [1]
    assert "after 1 messages" in lines[-1]
