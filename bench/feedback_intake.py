"""Feedback intake: DSNs over SMTP into `mailcast bounces`, webhook events over HTTP into `serve`.

    python bench/feedback_intake.py [-n 10000] [-c 8] [--receivers 1] [--database-url URL]
                                    [--webhook-events 20000] [--per-request 1000]

A delivery of N messages in EFS mode is sent into Postfix's smtp-sink; then every message's
DSN (80 % Postfix success notices, 20 % Exim failures: 5.1.1 and 4.2.2; each to the message's
signed VERP address and quoting its Message-ID) goes over C SMTP connections, from client
processes of their own, to R `mailcast bounces` processes. It prints the DSNs accepted per
second (until the last 250), the reports applied per second (until the last is applied and
the delivery has no pending message), the lag between the two, and checks that every report
was applied once: one outcome per message, counters equal to a recount. For reference, in the
same run, Postfix's smtp-source sends as many messages of the DSNs' size over as many
connections into smtp-sink: what this machine does with the same traffic when nothing is
kept or read.

With --webhook-events, a second delivery's events go to `mailcast serve` as signed
`/webhooks/generic` batches of --per-request events, and the same figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailcast.config import Settings
from send_throughput import free_port, smtp_sink, smtp_source_rate

BOUNCE_DOMAIN = "bounces.bench.example"


# --- the world: N messages sent in EFS mode, their keys --------------------------------------


def confirmed_efs_delivery(settings: Settings, workdir: Path, locals_: list[str], name: str) -> int:
    """Profiles at example.com with these local parts, and a confirmed EFS delivery to them."""
    from mailcast.audience.csv_import import import_profiles
    from mailcast.audience.target import Target
    from mailcast.context import Context
    from mailcast.deliveries.service import DeliveryDraft, confirm_send, create_delivery
    from mailcast.domain import FeedbackMode, Role
    from mailcast.prepare.preparation import prepare_delivery
    from mailcast.users.service import add_user

    ctx = Context.from_settings(settings)
    ctx.db.upgrade()
    user = add_user(ctx.db, f"bench-{name}", [Role.START], None, ctx.clock)
    audience = workdir / f"{name}.csv"
    with audience.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name"])
        writer.writerows([f"{local}@example.com", f"Reader{i}"] for i, local in enumerate(locals_))
    import_profiles(ctx.db, audience, name, ctx.clock)
    draft = DeliveryDraft(
        name=f"feedback bench {name}",
        subject="Hello {{ first_name }}",
        from_addr="bench@example.com",
        target=Target((name,)),
        html="<p>Hi {{ first_name }}</p><p><a href='https://example.com/u'>unsubscribe</a></p>",
        feedback_mode=FeedbackMode.EFS,
    )
    delivery_id = create_delivery(ctx, user, draft)
    prepare_delivery(ctx, user, delivery_id)
    confirm_send(ctx, user, delivery_id)
    ctx.db.dispose()
    return delivery_id


def prepare_sent(settings: Settings, workdir: Path, n: int, name: str) -> tuple[int, list[dict]]:
    """A delivery of N messages handed to smtp-sink; each message's address and keys."""
    from sqlalchemy import select

    from mailcast.context import Context
    from mailcast.send.engine import send_until_idle
    from mailcast.store.tables import messages

    delivery_id = confirmed_efs_delivery(settings, workdir, [f"{name}{i}" for i in range(n)], name)
    ctx = Context.from_settings(settings)
    send_until_idle(ctx)
    query = select(messages.c.id, messages.c.address, messages.c.message_id_header).where(
        messages.c.delivery_id == delivery_id
    )
    with ctx.db.read() as conn:
        rows = list(conn.execute(query))
    sent = [
        {
            "id": r.id,
            "address": r.address,
            "mid": r.message_id_header,
            "verp": ctx.signer.return_path(r.id),
        }
        for r in rows
    ]
    ctx.db.dispose()
    return delivery_id, sent


# --- the DSNs, as Postfix and Exim write them ------------------------------------------------


def postfix_success(m: dict, serial: int) -> bytes:
    boundary = f"{serial}.1733300000/mx.bench.example"
    return _crlf(f"""Return-Path: <>
Received: by mx.bench.example (Postfix) id {serial:X}; Wed,  4 Dec 2026 10:00:00 +0000 (UTC)
Date: Wed,  4 Dec 2026 10:00:00 +0000 (UTC)
From: MAILER-DAEMON@mx.bench.example (Mail Delivery System)
Subject: Successful Mail Delivery Report
To: {m["verp"]}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"
Message-Id: <{serial}.dsn@mx.bench.example>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.bench.example.

Your message was successfully delivered to the destination(s)
listed below. If the message was delivered to mailbox you will
receive no further notifications. Otherwise you may still receive
notifications of mail delivery errors from other systems.

                   The mail system

<{m["address"]}>: delivery via mail.example.com[192.0.2.10]:25: 250 2.0.0 OK
    1733300000 q{serial} - gsmtp

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.bench.example
X-Postfix-Queue-ID: {serial:X}
X-Postfix-Sender: rfc822; {m["verp"]}
Arrival-Date: Wed,  4 Dec 2026 09:59:58 +0000 (UTC)

Final-Recipient: rfc822; {m["address"]}
Original-Recipient: rfc822;{m["address"]}
Action: relayed
Status: 2.0.0
Remote-MTA: dns; mail.example.com
Diagnostic-Code: smtp; 250 2.0.0 OK 1733300000 q{serial} - gsmtp

--{boundary}
Content-Description: Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{m["verp"]}>
Message-ID: {m["mid"]}
From: bench@example.com
To: {m["address"]}
Subject: Hello

--{boundary}--
""")


def exim_failure(m: dict, serial: int) -> bytes:
    soft = serial % 2 == 0
    status, reply = (
        ("4.2.2", "452 4.2.2 The email account that you tried to reach is over quota")
        if soft
        else ("5.1.1", "550 5.1.1 <{0}>: Recipient address rejected: User unknown")
    )
    reply = reply.format(m["address"])
    boundary = f"{serial}-eximdsn-{serial * 7919}"
    return _crlf(f"""Return-path: <>
Received: from Debian-exim by mx2.bench.example with local (Exim 4.96)
\tid 1t{serial:08d}-000Abc-00; Wed, 04 Dec 2026 10:00:01 +0000
X-Failed-Recipients: {m["address"]}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx2.bench.example>
To: {m["verp"]}
Content-Type: multipart/report; report-type=delivery-status; boundary={boundary}
MIME-Version: 1.0
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1t{serial:08d}-000Abc-00@mx2.bench.example>
Date: Wed, 04 Dec 2026 10:00:01 +0000

--{boundary}
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {m["address"]}
    host mail.example.net [192.0.2.20]
    SMTP error from remote mail server after RCPT TO:<{m["address"]}>:
    {reply}

--{boundary}
Content-type: message/delivery-status

Reporting-MTA: dns; mx2.bench.example

Action: failed
Final-Recipient: rfc822;{m["address"]}
Status: {status}
Remote-MTA: dns; mail.example.net
Diagnostic-Code: smtp; {reply}

--{boundary}
Content-type: message/rfc822

Return-path: <{m["verp"]}>
Message-ID: {m["mid"]}
From: bench@example.com
To: {m["address"]}
Subject: Hello

Hi.

--{boundary}--
""")


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def dsn_for(m: dict, serial: int) -> bytes:
    return exim_failure(m, serial) if serial % 5 == 0 else postfix_success(m, serial)


# --- the clients: plain SMTP, one message after another on each connection ------------------


class _Session(asyncio.Protocol):
    """One connection sending its messages one after another, each as two writes: MAIL, RCPT
    and DATA pipelined (RFC 2920), then the text once DATA is answered 354. A protocol rather
    than a stream reader: the clients share the machine with what they measure."""

    def __init__(self, jobs: list[tuple[bytes, bytes]], done: asyncio.Future[float]) -> None:
        self.envelopes = [envelope for envelope, _ in jobs]
        self.texts = [text for _, text in jobs]
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.expect: list[bytes] = [b"220"]  # the greeting
        self.sent = 0  # messages whose text is on the way
        self.last = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (cut := self.buffer.find(b"\n")) >= 0:
            line, self.buffer = self.buffer[: cut + 1], self.buffer[cut + 1 :]
            if line[3:4] != b"-":
                self._replied(line)

    def _replied(self, line: bytes) -> None:
        if self.done.done():
            return
        expected = self.expect.pop(0)
        if not line.startswith(expected):
            self.done.set_exception(AssertionError(line))
            return
        if self.expect:
            return
        assert self.transport is not None
        if expected == b"220":
            self.transport.write(b"EHLO mx.bench.example\r\n")
            self.expect = [b"250"]
            return
        if expected == b"354":
            self.transport.write(self.texts[self.sent])
            self.sent += 1
            self.expect = [b"250"]
            return
        if expected == b"250" and self.sent:
            self.last = time.monotonic()
        if self.sent < len(self.texts):
            self.transport.write(self.envelopes[self.sent])
            self.expect = [b"250", b"250", b"354"]
        else:
            self.transport.write(b"QUIT\r\n")
            self.expect = [b"221"]
            self.done.set_result(self.last)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError("the receiver hung up"))


def smtp_job(rcpt: str, data: bytes) -> tuple[bytes, bytes]:
    """A message as it goes on the wire: its envelope commands, its dot-stuffed text."""
    envelope = f"MAIL FROM:<>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode()
    return envelope, data.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n"


async def _session(port: int, jobs: list[tuple[bytes, bytes]]) -> float:
    """Send the jobs on one connection; the monotonic time of the last 250."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    session = _Session(jobs, done)
    transport, _ = await loop.create_connection(lambda: session, "127.0.0.1", port)
    try:
        return await done
    finally:
        transport.close()


def client(
    ports: list[int], sessions: list[list[tuple[bytes, bytes]]], go: float, out: Connection
) -> None:
    """One client process: its sessions at once, spread over the receivers' ports; sends back
    the time of its last 250 and the CPU time it took."""

    async def run() -> list[float]:
        await asyncio.sleep(max(0.0, go - time.monotonic()))
        return await asyncio.gather(
            *(_session(ports[i % len(ports)], jobs) for i, jobs in enumerate(sessions))
        )

    started = time.process_time()
    last = max(asyncio.run(run()))
    out.send((last, time.process_time() - started))


def send_all(
    ports: list[int], jobs: list[tuple[bytes, bytes]], connections: int
) -> tuple[float, float, float]:
    """Every job over `connections` connections from two client processes: (start, last 250,
    the clients' CPU time)."""
    sessions = [jobs[i::connections] for i in range(connections)]
    processes = 2
    go = time.monotonic() + 1.0
    pipes, workers = [], []
    for p in range(processes):
        parent, child_end = multiprocessing.Pipe()
        worker = multiprocessing.Process(
            target=client, args=(ports, sessions[p::processes], go, child_end)
        )
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    lasts, cpus = zip(*(pipe.recv() for pipe in pipes), strict=True)
    for worker in workers:
        worker.join()
    return go, max(lasts), sum(cpus)


# --- the receivers, the server, and what they applied ----------------------------------------


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return os.environ | {
        "MAILCAST_DATABASE_URL": settings.database_url,
        "MAILCAST_SECRET_KEY": settings.secret_key or "",
        "MAILCAST_BOUNCE_DOMAIN": BOUNCE_DOMAIN,
        **extra,
    }


def wait_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"mailcast did not start; see {log}:\n{log.read_text()[-2000:]}")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time of a process, and of the processes it started (Linux /proc)."""
    own = _cpu(pid)
    return own, sum(_cpu(child) for child in _children(pid))


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def server_cpu() -> dict[int, float]:
    """CPU time of each PostgreSQL server process: its share of the work is counted too."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            found[int(stat.parent.name)] = _cpu(int(stat.parent.name))
    return found


def _children(pid: int) -> list[int]:
    found = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in path.read_text().split():
            found += [int(child), *_children(int(child))]
    return found


def stop(process: subprocess.Popen, *, group: bool = False) -> None:
    """SIGINT, as Ctrl-C; to the whole group when py-spy stands in front of the receiver (it
    does not pass the signal on, and the receiver's consumers would outlive it)."""
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def settled(settings: Settings, delivery_id: int, n: int, timeout: float = 600) -> float:
    """Until every report is applied and no message of the delivery is pending; the time."""
    from sqlalchemy import func, select

    from mailcast.context import Context
    from mailcast.domain import MessageStatus, ReportOutcome
    from mailcast.store.tables import inbound_reports, messages

    ctx = Context.from_settings(settings)
    reports = inbound_reports.c
    unread = select(func.count()).where(
        reports.outcome == ReportOutcome.RECEIVED, reports.processed_at.is_(None)
    )
    pending = select(func.count()).where(
        messages.c.delivery_id == delivery_id, messages.c.status == MessageStatus.PENDING
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with ctx.db.read() as conn:
                waiting = conn.execute(unread).scalar_one() + conn.execute(pending).scalar_one()
            if waiting == 0:
                return time.monotonic()
            time.sleep(0.02)
    finally:
        ctx.db.dispose()
    raise SystemExit(f"not settled after {timeout} s")


def check_once(settings: Settings, delivery_id: int, n: int, webhook: bool = False) -> str:
    """Every message reported once; counters equal to the recount."""
    from sqlalchemy import func, select

    from mailcast.context import Context
    from mailcast.domain import EventKind, ReportOutcome
    from mailcast.stats.compute import check_counters
    from mailcast.store.tables import events, inbound_reports

    ctx = Context.from_settings(settings)
    kinds = [EventKind.DELIVERED, EventKind.BOUNCED]
    with ctx.db.read() as conn:
        per_message = (
            select(events.c.message_id, func.count().label("n"))
            .where(events.c.delivery_id == delivery_id, events.c.kind.in_(kinds))
            .group_by(events.c.message_id)
            .subquery()
        )
        twice = conn.execute(select(func.count()).where(per_message.c.n > 1)).scalar_one()
        once = conn.execute(select(func.count()).select_from(per_message)).scalar_one()
        outcomes: dict[str, int] = dict(
            conn.execute(
                select(inbound_reports.c.outcome, func.count()).group_by(inbound_reports.c.outcome)
            ).all()
        )
    drift = check_counters(ctx, delivery_id).drift
    ctx.db.dispose()
    problems = []
    if once != n or twice:
        problems.append(f"{once} messages with an outcome event (want {n}), {twice} with two")
    if not webhook and outcomes.get(ReportOutcome.APPLIED, 0) < n:
        problems.append(f"report outcomes {outcomes}")
    if drift:
        problems.append(f"counters drift from the recount: {drift}")
    return "; ".join(problems) or "every report applied once, counters equal the recount"


def dsn_run(settings: Settings, workdir: Path, args: argparse.Namespace) -> None:
    delivery_id, sent = prepare_sent(settings, workdir, args.n, "dsn")
    jobs = [smtp_job(m["verp"], dsn_for(m, i)) for i, m in enumerate(sent)]
    ports = [free_port() for _ in range(args.receivers)]
    receivers = []
    for i, port in enumerate(ports):
        log = workdir / f"bounces-{i}.log"
        command = [sys.executable, "-m", "mailcast", "bounces", "--port", str(port)]
        if args.consumers is not None:
            command += ["--consumers", str(args.consumers)]
        if args.profile:  # the stacks of the receiver and its consumers while they hold the GIL
            stacks = workdir / f"bounces-{i}.stacks"
            spy = ["py-spy", "record", "-f", "raw", "--gil", "--subprocesses", "-o", str(stacks)]
            command = [*spy, "--", *command]
        process = subprocess.Popen(
            command,
            env=_env(settings),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=args.profile,
        )
        wait_port(port, process, log)
        receivers.append(process)
    try:
        time.sleep(3)  # the consumer processes' imports are not the DSNs' cost
        idle = [cpu_seconds(process.pid) for process in receivers]
        server_idle = server_cpu()
        start, last_250, clients = send_all(ports, jobs, args.connections)
        applied = settled(settings, delivery_id, args.n)
        busy = [cpu_seconds(process.pid) for process in receivers]
        server = sum(t - server_idle.get(pid, 0.0) for pid, t in server_cpu().items())
    finally:
        for process in receivers:
            stop(process, group=args.profile)
    print(
        f"DSNs: {args.n:,} over {args.connections} connections to {args.receivers} receiver(s) "
        f"with {settings.bounces.consumer_processes if args.consumers is None else args.consumers}"
        " consumer process(es) "
        "each: "
        f"accepted {args.n / (last_250 - start):,.0f}/s, "
        f"applied {args.n / (applied - start):,.0f}/s, "
        f"lag after the last 250 {applied - last_250:.2f} s"
    )
    receiving = sum(b[0] - i[0] for b, i in zip(busy, idle, strict=True))
    consuming = sum(b[1] - i[1] for b, i in zip(busy, idle, strict=True))
    per_dsn = 1e6 / args.n
    on_postgres = settings.database_url.startswith("postgresql")
    print(
        f"  CPU per DSN: receivers {receiving * per_dsn:,.0f} µs, "
        f"their consumers {consuming * per_dsn:,.0f} µs"
        + (f", PostgreSQL server {server * per_dsn:,.0f} µs" if on_postgres else "")
        + f"; the clients sending them {clients * per_dsn:,.0f} µs"
        + (" (py-spy counted as the receiver)" if args.profile else "")
    )
    print(f"  check: {check_once(settings, delivery_id, args.n)}")
    # The machine's own pace at the same traffic: these machines are shared and vary.
    size = sum(len(text) for _, text in jobs) // len(jobs)
    source = smtp_source_rate(settings.relay.port, args.n, args.connections, size)
    print(
        f"  reference in this run: Postfix's smtp-source, {args.n:,} messages of {size:,} bytes "
        f"over {args.connections} connections into smtp-sink: {source:,.0f}/s "
        f"(mailcast accepted {args.n / (last_250 - start) / source:.2f} of it)"
    )


def post(port: int, secret: str, body: bytes) -> None:
    from mailcast.feedback.webhooks.generic import SIGNATURE_HEADER, sign

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/generic",
        data=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200, response.status


def webhook_run(settings: Settings, workdir: Path, args: argparse.Namespace) -> None:
    n = args.webhook_events
    delivery_id, sent = prepare_sent(settings, workdir, n, "hook")
    events = [
        {"verp": m["verp"], "recipient": m["address"], "id": f"ev-{i}"}
        | (
            {
                "event": "bounce",
                "status": "5.1.1",
                "bounce_type": "hard",
                "diagnostic": "550 5.1.1 user unknown",
            }
            if i % 5 == 0
            else {"event": "delivered"}
        )
        for i, m in enumerate(sent)
    ]
    bodies = [
        json.dumps({"events": events[i : i + args.per_request]}).encode()
        for i in range(0, n, args.per_request)
    ]
    secret = "bench-" + secrets.token_hex(8)
    port = free_port()
    log = workdir / "serve.log"
    env = _env(
        settings,
        MAILCAST_WEB__PORT=str(port),
        MAILCAST_WEB__WEBHOOKS__GENERIC_SECRET=secret,
    )
    command = [sys.executable, "-m", "mailcast", "serve", "--no-bounces", "--no-worker"]
    server = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_port(port, server, log)
    try:
        idle = sum(cpu_seconds(server.pid))
        client_cpu = time.process_time()
        start = time.monotonic()
        with ThreadPoolExecutor(args.webhook_clients) as clients:
            list(clients.map(partial(post, port, secret), bodies))
        last = time.monotonic()
        client_cpu = time.process_time() - client_cpu
        applied = settled(settings, delivery_id, n)
        busy = sum(cpu_seconds(server.pid)) - idle
    finally:
        stop(server)
    print(
        f"webhooks: {n:,} events in requests of {args.per_request}, "
        f"{args.webhook_clients} clients at once: "
        f"accepted {n / (last - start):,.0f}/s, applied {n / (applied - start):,.0f}/s, "
        f"lag after the last answer {applied - last:.2f} s"
    )
    print(
        f"  CPU per event: the server {busy * 1e6 / n:,.0f} µs; "
        f"the clients posting them {client_cpu * 1e6 / n:,.0f} µs"
    )
    print(f"  check: {check_once(settings, delivery_id, n, webhook=True)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="DSNs (one per message)")
    parser.add_argument("-c", "--connections", type=int, default=8)
    parser.add_argument("--receivers", type=int, default=1)
    parser.add_argument(
        "--consumers", type=int, help="consumer processes each (default: the configured 2)"
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--webhook-events", type=int, default=0)
    parser.add_argument("--per-request", type=int, default=1000)
    parser.add_argument("--webhook-clients", type=int, default=8)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample each receiver with py-spy (pip install py-spy)",
    )
    args = parser.parse_args()

    from mailcast.config import RelaySettings

    workdir = Path(tempfile.mkdtemp(prefix="mailcast-intake-"))
    sink_port = free_port()
    settings = Settings(
        database_url=args.database_url or f"sqlite:///{workdir / 'bench.db'}",
        secret_key=secrets.token_hex(16),
        bounce_domain=BOUNCE_DOMAIN,
        relay=RelaySettings(port=sink_port),
    )
    with smtp_sink(sink_port):
        if args.n:
            dsn_run(settings, workdir, args)
        if args.webhook_events:
            webhook_run(settings, workdir, args)
    print(f"(logs in {workdir})")


if __name__ == "__main__":
    main()
