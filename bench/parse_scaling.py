"""How bounce parsing time grows with the input: milliseconds per MB, 10 KB to 10 MB.

    python bench/parse_scaling.py [--repeat N]

Three shapes of input, each grown to every size: a DSN returning a long original message,
a notice whose text is one adversarial run of near-addresses and status codes, and a message
with one huge header. Time per MB should stay flat (linear) up to the parser's bounded
prefix (mime.MAX_BYTES), then fall: bytes past the prefix are never read.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from mailcast.feedback import mime
from mailcast.feedback.parse import parse_report

SIZES = (10_000, 100_000, 1_000_000, 10_000_000)

DSN_HEAD = (
    b"From: MAILER-DAEMON@mx.relay.example\r\n"
    b"To: bounce@bounces.example\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\n"
    b"<alice@example.org>: host mx.example.org said: 550 5.1.1 User unknown\r\n"
    b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.relay.example\r\n\r\n"
    b"Final-Recipient: rfc822; alice@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    b"--B\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: news@example.com\r\nTo: alice@example.org\r\nSubject: hi\r\n\r\n"
)


def returned_body(size: int) -> bytes:
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
    return DSN_HEAD + line * (size // len(line) + 1)


def adversarial_notice(size: int) -> bytes:
    # Near-misses for the address, status and reply patterns, all on one line.
    unit = b"a.a.a.a@ 5.5.5.5 <<@ 550-550 user@ rcpt to: "
    head = b"From: MAILER-DAEMON@example.net\r\nSubject: failure notice\r\n\r\n"
    return head + unit * (size // len(unit) + 1)


def huge_header(size: int) -> bytes:
    return b"X-Long: " + b"a" * size + b"\r\n" + DSN_HEAD


SHAPES: dict[str, Callable[[int], bytes]] = {
    "returned body": returned_body,
    "adversarial notice": adversarial_notice,
    "huge header": huge_header,
}


def best_time(raw: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        parse_report(raw)
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (best is kept)")
    args = parser.parse_args(argv)
    print(f"parser reads at most the first {mime.MAX_BYTES:,} bytes of a message")
    print(f"{'shape':<20} {'size':>12} {'ms':>9} {'ms/MB':>9}")
    for name, build in SHAPES.items():
        for size in SIZES:
            raw = build(size)
            seconds = best_time(raw, args.repeat)
            per_mb = seconds * 1000 / (len(raw) / 1_000_000)
            print(f"{name:<20} {len(raw):>12,} {seconds * 1000:>9.1f} {per_mb:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
