"""Send throughput: mailcast's engine vs Postfix's smtp-source, both into one smtp-sink.

    python bench/send_throughput.py [-n 10000] [--concurrency 20] [--compose-processes 1] [--rss]

mailcast (one worker, SQLite, default settings but concurrency and `send.compose_processes`,
the processes that compose and sign ahead for the worker) sends N personalised 5 KB messages into
`smtp-sink` on loopback; in the same run `smtp-source` sends N messages of the same size
into the same sink. It prints `mailcast X msg/s, smtp-source Y msg/s, ratio R`, then the same
with every message DKIM-signed (RSA-2048, relaxed/relaxed), measured in a second child.
With --rss the mailcast run is repeated at N=10,000 and N=100,000 and each run's peak RSS
is printed (each run is a child process, so the figures do not mix).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MESSAGE_SIZE = 5 * 1024
PARAGRAPH = (
    "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua, {{ first_name }}.</p>\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_sink(port: int) -> Iterator[None]:
    """Postfix's smtp-sink: accepts and discards, as fast as SMTP goes here."""
    binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([binary, *user, f"127.0.0.1:{port}", "256"])
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield
    finally:
        sink.terminate()
        sink.wait()


def smtp_source_rate(port: int, n: int, sessions: int, size: int = MESSAGE_SIZE) -> float:
    binary = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    started = time.perf_counter()
    subprocess.run(
        [binary, "-s", str(sessions), "-l", str(size), "-m", str(n), f"127.0.0.1:{port}"],
        check=True,
    )
    return n / (time.perf_counter() - started)


def run_mailcast_child(
    port: int, n: int, concurrency: int, composers: int, *, dkim: bool = False
) -> dict[str, float]:
    """One mailcast run in a fresh process; returns its figures."""
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(port),
            "-n",
            str(n),
            "--concurrency",
            str(concurrency),
            "--compose-processes",
            str(composers),
            *(["--dkim"] if dkim else []),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def child(port: int, n: int, concurrency: int, composers: int, dkim: bool) -> None:
    """Import N profiles, prepare, confirm, and time the send until the delivery is sent."""
    from mailcast.audience.csv_import import import_profiles
    from mailcast.audience.target import Target
    from mailcast.config import DkimSettings, RelaySettings, SendSettings, Settings
    from mailcast.context import Context
    from mailcast.deliveries.service import DeliveryDraft, confirm_send, create_delivery
    from mailcast.domain import Role
    from mailcast.prepare.preparation import prepare_delivery
    from mailcast.send.engine import send_until_idle
    from mailcast.stats.deployment import deployment
    from mailcast.users.service import add_user

    workdir = Path(tempfile.mkdtemp(prefix="mailcast-bench-"))
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'bench.db'}",
        relay=RelaySettings(port=port),
        send=SendSettings(concurrency=concurrency, compose_processes=composers),
        dkim=DkimSettings.model_validate({"keys": dkim_keys(workdir) if dkim else []}),
    )
    ctx = Context.from_settings(settings)
    ctx.db.upgrade()
    user = add_user(ctx.db, "bench", [Role.START], None, ctx.clock)
    audience = workdir / "audience.csv"
    with audience.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "last_name"])
        writer.writerows([f"r{i}@example.com", f"Reader{i}", "Bench"] for i in range(n))
    import_profiles(ctx.db, audience, "bench", ctx.clock)
    body = PARAGRAPH * (MESSAGE_SIZE // len(PARAGRAPH))
    draft = DeliveryDraft(
        name="bench",
        subject="Hello {{ first_name }}",
        from_addr="bench@example.com",
        target=Target(("bench",)),
        html=f"<html><body>{body}<a href='https://example.com/u'>unsubscribe</a></body></html>",
    )
    delivery_id = create_delivery(ctx, user, draft)
    # A From domain without a key would send unsigned, and the DKIM line would lie.
    assert not dkim or ctx.dkim.for_sender(draft.from_addr), "the bench's From has no DKIM key"
    started = time.perf_counter()
    prepare_delivery(ctx, user, delivery_id)
    prepared = time.perf_counter()
    confirm_send(ctx, user, delivery_id)
    send_until_idle(ctx)
    sent = time.perf_counter()
    d = deployment(ctx, delivery_id)
    assert d.counts.sent == n, f"only {d.counts.sent} of {n} sent"
    figures = {
        "n": n,
        "prepare_seconds": prepared - started,
        "send_seconds": sent - prepared,
        "rate": n / (sent - prepared),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    shutil.rmtree(workdir)
    print(json.dumps(figures))


def dkim_keys(workdir: Path) -> list[dict[str, str]]:
    """A fresh RSA-2048 key for the bench's From domain."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = workdir / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return [{"domain": "example.com", "selector": "bench", "private_key_file": str(path)}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("-c", "--concurrency", type=int, default=20)
    parser.add_argument(
        "--compose-processes", type=int, default=1, help="send.compose_processes (0: none)"
    )
    parser.add_argument("--rss", action="store_true", help="peak RSS at 10,000 and 100,000")
    parser.add_argument("--child", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--dkim", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n, args.concurrency, args.compose_processes, args.dkim)
        return
    port = free_port()
    with smtp_sink(port):
        if args.rss:
            for n in (10_000, 100_000):
                f = run_mailcast_child(port, n, args.concurrency, args.compose_processes)
                print(
                    f"N={n:,}: peak RSS {f['peak_rss_mb']:.0f} MB, "
                    f"prepare {f['prepare_seconds']:.1f} s, send {f['rate']:.0f} msg/s"
                )
        mailcast = run_mailcast_child(port, args.n, args.concurrency, args.compose_processes)
        print(f"mailcast: prepared {args.n:,} in {mailcast['prepare_seconds']:.1f} s")
        source = smtp_source_rate(port, args.n, args.concurrency)
        signed = run_mailcast_child(
            port, args.n, args.concurrency, args.compose_processes, dkim=True
        )
    ratio = mailcast["rate"] / source
    print(f"one worker, {args.compose_processes} compose processes, concurrency {args.concurrency}")
    print(
        f"mailcast {mailcast['rate']:.0f} msg/s, smtp-source {source:.0f} msg/s, ratio {ratio:.2f}"
    )
    print(
        f"mailcast with DKIM RSA-2048 {signed['rate']:.0f} msg/s, "
        f"smtp-source {source:.0f} msg/s, ratio {signed['rate'] / source:.2f}"
    )


if __name__ == "__main__":
    main()
