"""Compose throughput with and without link tracking, in one process, no database or SMTP.

    python bench/compose_throughput.py [-n 20000] [--links 10] [--rounds 3]

Composes N personalised ~5 KB messages whose HTML holds LINKS tracked links (plus a
mailto and an anchor, left alone), alternating rounds without and with tracking so both
see the same machine load. Prints the best round of each: `untracked X msg/s, tracked Y
msg/s (Z µs more per message)`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from mailcast.compose.composer import Composer, DeliveryContent, Recipient
from mailcast.compose.verp import EnvelopeSigner
from mailcast.tracking.links import LinkTracker
from mailcast.tracking.tokens import TokenSigner

PARAGRAPH = (
    "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua, {{ first_name }}. Ut enim ad minim veniam, "
    "quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.</p>\n"
)
NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def html_body(links: int) -> str:
    parts = [PARAGRAPH * 3]
    for n in range(links):
        url = f"https://shop.example.com/item/{n}?utm_source=news&amp;utm_medium=email"
        parts.append(f'{PARAGRAPH}<p><a href="{url}">Item {n}</a></p>\n')
    parts.append('<p><a href="mailto:help@example.com">help</a> <a href="#top">top</a></p>')
    body = "".join(parts)
    return f'<html><body>{body}<a href="{{{{ unsubscribe_url }}}}">unsubscribe</a></body></html>'


def rate(composer: Composer, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        composer.compose(Recipient(i, f"r{i}@example.com", f"Reader{i}", "Bench", {}), NOW)
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--links", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    envelope = EnvelopeSigner("bench-secret", "bounces.example.com", "example.com")
    tracker = LinkTracker(TokenSigner([("k1", "bench-key")]), "https://t.example.com", "bottom")
    html = html_body(args.links)
    tracked = Composer(
        DeliveryContent(1, "Hello {{ first_name }}", "news@example.com", None, html, "Hi"),
        envelope,
        tracker,
    )
    # Untracked, the template may not name unsubscribe_url: give it a plain link instead.
    plain_html = html.replace("{{ unsubscribe_url }}", "https://example.com/unsubscribe")
    untracked = Composer(
        DeliveryContent(1, "Hello {{ first_name }}", "news@example.com", None, plain_html, "Hi"),
        envelope,
    )
    best_plain = best_tracked = 0.0
    for _ in range(args.rounds):
        best_plain = max(best_plain, rate(untracked, args.n))
        best_tracked = max(best_tracked, rate(tracked, args.n))
    extra_us = (1 / best_tracked - 1 / best_plain) * 1e6
    size = len(tracked.compose(Recipient(1, "r@example.com", "R", "B", {}), NOW).data)
    print(f"{args.links} links, {size:,} bytes per message")
    print(
        f"untracked {best_plain:.0f} msg/s, tracked {best_tracked:.0f} msg/s "
        f"({extra_us:.0f} µs more per message)"
    )


if __name__ == "__main__":
    main()
