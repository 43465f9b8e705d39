"""Tracking load: pixel and click hits against `mailcast serve` while a delivery is sending.

    python bench/tracking_load.py [-n 20000] [-c 64] [--rate 2500] [--seconds 10]
                                  [--database-url URL] [--worker-in-server]

Starts the sandbox MTA (a child process), `mailcast serve` (one process: the HTTP app and the
tick) and a `mailcast worker` (another process, as production runs it) on loopback, with a
delivery of N messages sending through the sandbox; `--worker-in-server` sends from the
server process itself instead.
Meanwhile C keep-alive connections offer RATE hits/s in all (0: each as fast as it can) to
the open pixel (90 %) and click (10 %) endpoints for S seconds, with signed tokens of that
delivery's messages. Then the server is stopped
(SIGTERM: it flushes its queued hits) and the events in the database are counted. Prints
requests/s, p50/p99 latency per endpoint, messages relayed during the run, and checks
`events written == hits answered`. Target: >= 2,000 pixel hits/s, p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from mailcast.audience.csv_import import import_profiles
from mailcast.audience.target import Target
from mailcast.config import Settings
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryDraft, confirm_send, create_delivery
from mailcast.domain import EventKind, Role
from mailcast.prepare.preparation import prepare_delivery
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store.tables import delivery_counters, events, messages
from mailcast.tracking.tokens import TokenKind, TokenSigner, TrackingToken
from mailcast.users.service import add_user

Popen = subprocess.Popen[bytes]
KEY = ("bench", "tracking-bench-secret")
AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
CLICK_SHARE = 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the world: a database with a delivery sending, the sandbox MTA, mailcast serve ---------


def prepare_world(settings: Settings, workdir: Path, n: int) -> tuple[int, list[int]]:
    """N profiles and a prepared delivery to them, confirmed: serve's worker will send it."""
    ctx = Context.from_settings(settings)
    ctx.db.upgrade()
    user = add_user(ctx.db, "bench", [Role.START], None, ctx.clock)
    audience = workdir / "audience.csv"
    with audience.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name"])
        writer.writerows([f"r{i}@example.com", f"Reader{i}"] for i in range(n))
    import_profiles(ctx.db, audience, "bench", ctx.clock)
    draft = DeliveryDraft(
        name="tracking bench",
        subject="Hello {{ first_name }}",
        from_addr="bench@example.com",
        target=Target(("bench",)),
        html="<p>Hi {{ first_name }}, <a href='https://example.com/sale'>sale</a></p>"
        "<p><a href='https://example.com/u'>unsubscribe</a></p>",
        text="Hi {{ first_name }}. Unsubscribe: https://example.com/u",
    )
    delivery_id = create_delivery(ctx, user, draft)
    result = prepare_delivery(ctx, user, delivery_id)
    assert not result.blocked, result.findings
    confirm_send(ctx, user, delivery_id)
    with ctx.db.read() as conn:
        query = select(messages.c.id).where(messages.c.delivery_id == delivery_id)
        ids = list(conn.execute(query).scalars())
    ctx.db.dispose()
    return delivery_id, ids


def run_sandbox(port: int) -> None:
    """The sandbox MTA in its own process, so that it competes with neither side's GIL."""
    with SandboxMTA(port=port, keep_bodies=False):
        signal.sigwait({signal.SIGTERM})


def _env(settings: Settings, web_port: int, relay_port: int) -> dict[str, str]:
    return os.environ | {
        "PYTHONFAULTHANDLER": "1",
        "MAILCAST_DATABASE_URL": settings.database_url,
        "MAILCAST_SECRET_KEY": settings.secret_key or "",
        "MAILCAST_RELAY__PORT": str(relay_port),
        "MAILCAST_WEB__PORT": str(web_port),
        "MAILCAST_TRACKING__KEYS": f'["{KEY[0]}:{KEY[1]}"]',
        "MAILCAST_TRACKING__BASE_URL": f"http://127.0.0.1:{web_port}",
    }


def start_worker(settings: Settings, web_port: int, relay_port: int, log: Path) -> Popen:
    """A send worker of its own, as production runs it beside the HTTP server."""
    command = [sys.executable, "-m", "mailcast", "worker"]
    env = _env(settings, web_port, relay_port)
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def start_server(
    settings: Settings, web_port: int, relay_port: int, log: Path, *, with_worker: bool
) -> Popen:
    command = [sys.executable, "-m", "mailcast", "serve", "--no-bounces"]
    if not with_worker:
        command.append("--no-worker")
    env = _env(settings, web_port, relay_port)
    server = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", web_port)) == 0:
                return server
        if server.poll() is not None:
            break
        time.sleep(0.05)
    server.kill()
    raise SystemExit(f"mailcast serve did not start; see {log}:\n{log.read_text()[-2000:]}")


def stop(server: Popen) -> None:
    """SIGTERM, as an operator stops it: the app's shutdown flushes the queued hits."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        # Seen when stopped in the middle of a send: the HTTP app has finished (its hits are
        # written) but another part has not. Say so, and end it.
        print("warning: mailcast serve did not exit within 60 s of SIGTERM; killed")
        server.kill()
        server.wait()


# --- the load: keep-alive HTTP/1.1 connections, one request at a time each -----------------


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"pixel": [], "click": []})
    answered: int = 0
    errors: int = 0


def make_paths(message_ids: list[int], count: int) -> list[tuple[str, str]]:
    """Signed pixel and click paths for random messages, made before the clock starts."""
    signer = TokenSigner([KEY])
    now = dt.datetime.now(dt.UTC)
    paths = []
    for _ in range(count):
        message_id = random.choice(message_ids)
        if random.random() < CLICK_SHARE:
            token = TrackingToken(TokenKind.CLICK, message_id, now, 1, "https://example.com/sale")
            paths.append(("click", f"/t/c/{signer.sign(token)}"))
        else:
            token = TrackingToken(TokenKind.OPEN, message_id, now)
            paths.append(("pixel", f"/t/o/{signer.sign(token)}.gif"))
    return paths


async def connection(
    port: int, paths: list[tuple[str, str]], until: float, interval: float, results: Results
) -> None:
    """Requests one after another; with an interval, paced, latency from the planned time.

    Measuring from when a request was due, not when it went out, keeps a slow answer from
    hiding the requests that queued up behind it (coordinated omission).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    due = time.perf_counter() + random.uniform(0, interval)
    try:
        while due < until:
            if interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            started = due if interval else time.perf_counter()
            kind, status = await _one_request(reader, writer, random.choice(paths))
            results.latencies[kind].append(time.perf_counter() - started)
            if (kind, status) in (("pixel", 200), ("click", 302)):
                results.answered += 1
            else:
                results.errors += 1
            due = due + interval if interval else time.perf_counter()
    finally:
        writer.close()


async def _one_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: tuple[str, str]
) -> tuple[str, int]:
    kind, path = target
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {AGENT}\r\n\r\n"
    writer.write(request.encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return kind, int(head.split(b" ", 2)[1])


async def drive(
    port: int, paths: list[tuple[str, str]], connections: int, seconds: float, rate: float
) -> Results:
    results = Results()
    interval = connections / rate if rate else 0.0
    until = time.perf_counter() + seconds
    await asyncio.gather(
        *(connection(port, paths, until, interval, results) for _ in range(connections))
    )
    return results


# --- the figures ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


def relayed(settings: Settings, delivery_id: int) -> int:
    ctx = Context.from_settings(settings)
    with ctx.db.read() as conn:
        query = select(delivery_counters.c.sent + delivery_counters.c.pending).where(
            delivery_counters.c.delivery_id == delivery_id
        )
        value = int(conn.execute(query).scalar_one())
    ctx.db.dispose()
    return value


def events_written(settings: Settings, delivery_id: int) -> int:
    ctx = Context.from_settings(settings)
    kinds = (EventKind.OPENED.value, EventKind.CLICKED.value)
    with ctx.db.read() as conn:
        query = select(func.count()).where(
            events.c.delivery_id == delivery_id, events.c.kind.in_(kinds)
        )
        value = int(conn.execute(query).scalar_one())
    ctx.db.dispose()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="messages in the delivery")
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--rate", type=float, default=2500.0, help="hits/s to offer in all (0: as fast as possible)"
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument(
        "--worker-in-server",
        action="store_true",
        help="send from the server process itself instead of a separate `mailcast worker`",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mailcast-tracking-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    settings = Settings(database_url=url, secret_key="tracking-bench")
    web_port, relay_port = free_port(), free_port()
    settings.relay.port = relay_port
    delivery_id, message_ids = prepare_world(settings, workdir, args.n)
    paths = make_paths(message_ids, 20_000)
    sandbox = multiprocessing.get_context("spawn").Process(target=run_sandbox, args=(relay_port,))
    sandbox.start()
    server = start_server(
        settings, web_port, relay_port, workdir / "serve.log", with_worker=args.worker_in_server
    )
    worker = None
    if not args.worker_in_server:
        worker = start_worker(settings, web_port, relay_port, workdir / "worker.log")
    try:
        before = relayed(settings, delivery_id)
        results = asyncio.run(drive(web_port, paths, args.connections, args.seconds, args.rate))
        during = relayed(settings, delivery_id) - before
    finally:
        stop(server)
        if worker is not None:
            stop(worker)
        sandbox.terminate()
        sandbox.join()
    written = events_written(settings, delivery_id)

    total = sum(len(v) for v in results.latencies.values())
    offered = f"{args.rate:,.0f} hits/s offered" if args.rate else "as fast as possible"
    print(
        f"{args.connections} connections, {offered}, {args.seconds:.0f} s, delivery of {args.n:,}"
    )
    print(f"all hits: {total / args.seconds:,.0f} requests/s ({results.errors} errors)")
    for kind, values in results.latencies.items():
        p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
        rate = len(values) / args.seconds
        print(f"{kind:5}: {rate:,.0f} requests/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"messages relayed to the sandbox during the run: {during:,}")
    verdict = "OK" if written == results.answered else "MISMATCH"
    print(f"events written {written:,} / hits answered {results.answered:,}: {verdict}")
    if args.database_url is None:
        shutil.rmtree(workdir)
    if written != results.answered:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
