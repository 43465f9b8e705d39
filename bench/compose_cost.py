"""µs per message of `Composer.compose` for send_throughput.py's delivery, median of 3 runs."""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from mailcast.compose.composer import Composer, DeliveryContent, Recipient
from mailcast.compose.verp import EnvelopeSigner
from mailcast.config import Settings
from mailcast.tracking.links import LinkTracker
from mailcast.tracking.tokens import TokenSigner

MESSAGE_SIZE = 5 * 1024  # as bench/send_throughput.py
PARAGRAPH = (
    "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua, {{ first_name }}.</p>\n"
)
NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def bench_composer(text: str = "") -> Composer:
    """The Composer the send engine makes for the bench's delivery (send/sendable.py),
    default settings, tracking on, no database: its secret is given instead."""
    settings = Settings(secret_key="bench-secret")
    secret = settings.secret_key or ""
    body = PARAGRAPH * (MESSAGE_SIZE // len(PARAGRAPH))
    html = f"<html><body>{body}<a href='https://example.com/u'>unsubscribe</a></body></html>"
    content = DeliveryContent(1, "Hello {{ first_name }}", "bench@example.com", None, html, text)
    envelope = EnvelopeSigner(secret, settings.bounce_domain, settings.message_id_domain)
    tokens = TokenSigner([("t0", f"tracking:{secret}")])
    tracking = settings.tracking
    tracker = LinkTracker(tokens, tracking.base_url, tracking.pixel_position)
    return Composer(content, envelope, tracker, settings.templates)


def run(composer: Composer, n: int) -> float:
    """µs per message for n compositions, as the engine calls it (sign=False)."""
    recipients = [Recipient(i, f"r{i}@example.com", f"Reader{i}", "Bench", {}) for i in range(n)]
    started = time.perf_counter()
    for recipient in recipients:
        composer.compose(recipient, NOW, sign=False)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--text", action="store_true", help="with a text part as well")
    args = parser.parse_args()
    composer = bench_composer("Hello {{ first_name }}, read on." if args.text else "")
    runs = [run(composer, args.n) for _ in range(args.runs)]
    shown = ", ".join(f"{r:.1f}" for r in runs)
    print(f"{statistics.median(runs):.1f} µs per message (median of {shown})")


if __name__ == "__main__":
    main()
