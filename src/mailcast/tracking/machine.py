"""Which opens and clicks were most likely made by a machine: privacy proxies, link scanners.

Pure rules. A hit is a machine event when its user agent names no person's mail reader (an
image proxy, a security scanner, an HTTP library, or nothing at all), or when it comes too
soon after the message left: no one reads a message two seconds after it was relayed, but
Apple's and Google's proxies fetch every pixel then, and scanners follow every link.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from mailcast.tracking.tokens import TokenKind

# Privacy proxies strip the user agent down to the product token alone (Apple Mail Privacy
# Protection sends a bare "Mozilla/5.0"); a person's browser or mail reader says much more.
_BARE_PRODUCT = re.compile(r"^\s*mozilla/\d+(\.\d+)*\s*$", re.IGNORECASE)

# Words that only fetchers acting for a mailbox provider or a security gateway put in their
# user agent. Grouped by why they are there; matched case-insensitively anywhere.
_MACHINE_WORDS = (
    # Mailbox providers' image proxies, which fetch every pixel on delivery.
    "googleimageproxy",
    "ggpht.com",
    "yahoomailproxy",
    "apple-mail-privacy",
    # Security gateways and link scanners that follow every link before a person can.
    "barracuda",
    "mimecast",
    "proofpoint",
    "urldefense",
    "safelinks",
    "microsoft atp",
    "messagelabs",
    "symantec",
    "trendmicro",
    "forcepoint",
    "sophos",
    "fortinet",
    "fortiguard",
    "ironport",
    "zscaler",
    "cloudmark",
    "spamtitan",
    # Anything that declares itself a robot, a previewer or a proxy.
    "bot",
    "crawl",
    "spider",
    "scanner",
    "preview",
    "proxy",
    "headless",
    "phantomjs",
    # HTTP libraries and command-line tools: scripts, not readers.
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww-perl",
    "curl/",
    "wget/",
    "axios/",
    "node-fetch",
)
_MACHINE_PATTERN = re.compile("|".join(re.escape(word) for word in _MACHINE_WORDS), re.IGNORECASE)


def is_machine_agent(user_agent: str) -> bool:
    """True for a user agent no person's mail reader or browser sends."""
    if not user_agent.strip() or _BARE_PRODUCT.match(user_agent):
        return True
    return _MACHINE_PATTERN.search(user_agent) is not None


def too_soon(at: dt.datetime, sent_at: Iterable[dt.datetime | None], seconds: float) -> bool:
    """True when `at` is at most `seconds` after any of the times the message left."""
    window = dt.timedelta(seconds=seconds)
    return any(
        moment is not None and dt.timedelta(0) <= at - moment <= window for moment in sent_at
    )


def is_machine_hit(
    kind: TokenKind,
    at: dt.datetime,
    user_agent: str,
    sent_at: Iterable[dt.datetime | None],
    *,
    open_seconds: float,
    click_seconds: float,
) -> bool:
    """The rule for one open or click; `sent_at` are the message's relayed and delivered times."""
    if is_machine_agent(user_agent):
        return True
    if kind is TokenKind.OPEN:
        return too_soon(at, sent_at, open_seconds)
    if kind is TokenKind.CLICK:
        return too_soon(at, sent_at, click_seconds)
    return False
