"""EFS round trip: N messages sent, every one's DSN played back, the KPIs followed to the end.

    python bench/efs_round_trip.py [-n 100000] [--database-url URL]

Three processes, as production runs them: `mailcast worker` sends a delivery of N messages
in EFS mode to the sandbox MTA (a process of its own, playing a DSN for every recipient
--dsn-after seconds after it took the message: delivered, or 5.1.1 for the `unknown` tenth
of the audience), and `mailcast bounces`
keeps the DSNs and applies them (with its consumer process). It prints the send rate, when
the Deployment block reached its final figures (no message pending) after the send ended,
and checks that every report was applied once and the counters equal a recount.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from multiprocessing import Process
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feedback_intake import check_once, confirmed_efs_delivery, cpu_seconds, stop, wait_port
from mailcast.config import SandboxSettings, Settings
from send_throughput import free_port

BOUNCE_DOMAIN = "bounces.efs.example"


def run_sandbox(settings: Settings) -> None:
    """The sandbox MTA in a process of its own; DSNs to the bounce receiver, as they are due."""
    from mailcast.sandbox.mta import SandboxMTA

    with SandboxMTA.playing(settings, port=settings.sandbox.port, keep_bodies=False):
        signal.sigwait({signal.SIGTERM})


def progress(settings: Settings, delivery_id: int) -> tuple[int, int]:
    """(messages handed to the relay, messages still waiting for their outcome)."""
    from sqlalchemy import func, select

    from mailcast.context import Context
    from mailcast.domain import MessageStatus
    from mailcast.store.tables import messages

    ctx = Context.from_settings(settings)
    m = messages.c
    with ctx.db.read() as conn:
        relayed = conn.execute(
            select(func.count()).where(m.delivery_id == delivery_id, m.relayed_at.is_not(None))
        ).scalar_one()
        waiting = conn.execute(
            select(func.count()).where(
                m.delivery_id == delivery_id,
                m.status.in_([MessageStatus.QUEUED, MessageStatus.PENDING]),
            )
        ).scalar_one()
    ctx.db.dispose()
    return int(relayed), int(waiting)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--dsn-after", type=float, default=2.0, help="seconds, per DSN")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mailcast-efs-"))
    mta_port, bounce_port = free_port(), free_port()
    settings = Settings(
        database_url=args.database_url or f"sqlite:///{workdir / 'bench.db'}",
        secret_key=secrets.token_hex(16),
        bounce_domain=BOUNCE_DOMAIN,
        sandbox=SandboxSettings(
            port=mta_port,
            async_bounces=True,
            # As a relay answers: the DSN a moment after it took the message.
            success_after_seconds=args.dsn_after,
            bounce_after_seconds=args.dsn_after,
            spread=0,
            dsn_port=bounce_port,
        ),
    )
    settings.relay.port = mta_port
    # A tenth of the audience unknown to the sandbox: their DSNs are failures.
    locals_ = [f"unknown{i}" if i % 10 == 0 else f"reader{i}" for i in range(args.n)]
    delivery_id = confirmed_efs_delivery(settings, workdir, locals_, "efs")
    env = os.environ | {
        "MAILCAST_DATABASE_URL": settings.database_url,
        "MAILCAST_SECRET_KEY": settings.secret_key or "",
        "MAILCAST_BOUNCE_DOMAIN": BOUNCE_DOMAIN,
        "MAILCAST_RELAY__PORT": str(mta_port),
    }
    sandbox_process = Process(target=run_sandbox, args=(settings,), daemon=True)
    sandbox_process.start()
    receiver_log = workdir / "bounces.log"
    receiver = subprocess.Popen(
        [sys.executable, "-m", "mailcast", "bounces", "--port", str(bounce_port)],
        env=env,
        stdout=receiver_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_port(bounce_port, receiver, receiver_log)
    worker_log = workdir / "worker.log"
    started = time.monotonic()
    worker = subprocess.Popen(
        [sys.executable, "-m", "mailcast", "worker"],
        env=env,
        stdout=worker_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    sent_at = final_at = 0.0
    try:
        while True:
            relayed, waiting = progress(settings, delivery_id)
            now = time.monotonic()
            if not sent_at and relayed == args.n:
                sent_at = now
            if sent_at and waiting == 0:
                final_at = now
                break
            if worker.poll() is not None:
                raise SystemExit(f"the worker ended: {worker_log.read_text()[-2000:]}")
            if now - started > 3600:
                raise SystemExit(f"not final after an hour: {relayed} relayed, {waiting} waiting")
            time.sleep(0.2)
        cpu = sum(cpu_seconds(receiver.pid))
    finally:
        stop(worker)
        stop(receiver)
        sandbox_process.terminate()
        sandbox_process.join(30)
    send = sent_at - started
    print(
        f"EFS round trip, {args.n:,} messages: sent in {send:.1f} s ({args.n / send:,.0f} msg/s, "
        f"worker start included); KPIs final {final_at - sent_at:.1f} s after the last hand-off "
        f"({args.n / (final_at - started):,.0f} outcomes/s overall)"
    )
    print(f"  receiver and consumer CPU: {cpu / args.n * 1e6:,.0f} µs per DSN")
    print(f"  check: {check_once(settings, delivery_id, args.n)}")
    print(f"(logs in {workdir})")


if __name__ == "__main__":
    main()
