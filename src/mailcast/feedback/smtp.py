"""Pieces of SMTP found in free text: status codes, reply codes, the command answered, addresses."""

from __future__ import annotations

import re

# RFC 3463 enhanced status code; the look-arounds keep IP addresses and versions out.
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_PAIRED_STATUS = re.compile(r"\b[245][0-5]\d[ \-]['\"#]?([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
# A three-digit SMTP reply code standing alone (not inside an IP, a port, a date or a URL).
_REPLY = re.compile(r"(?<![\w.\-/#=+%@$])([245][0-5]\d)(?![\d.]|:\d)")
_ADDRESS = re.compile(r"[\w!#$%&'*+/=?^`{|}~.\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}")
_ANGLE = re.compile(r"<([^<>@\s]{1,64}@[^<>@\s]{1,255})>")

# Phrases naming the SMTP step a reply answered, as MTAs word them in their notices.
# Each step's wording, matched in the lower-cased text, and words one of which it holds: most
# texts hold none of a step's words, and a substring test is far cheaper than the search.
_COMMANDS: list[tuple[str, tuple[str, ...], re.Pattern[str]]] = [
    ("STARTTLS", ("starttls",), re.compile(r"\bstarttls\b")),
    (
        "EHLO",
        ("ehlo", "helo", "lhlo", "but my name"),
        re.compile(
            r"(?:after|in reply to|following|>>>)\s{0,10}(?:the\s{1,10})?(?:ehlo|helo|lhlo)\b"
            r"|\bbut my name was rejected\b",
        ),
    ),
    (
        "MAIL",
        ("mail", "but sender"),
        re.compile(
            r"(?:after|in reply to|following|>>>|sent)\s{0,10}(?:the\s{1,10})?mail\s{0,10}from\b"
            r"|\bmail from command\b|\bmail_from\b|\bbut sender was rejected\b",
        ),
    ),
    (
        "RCPT",
        ("rcpt", "recipient"),
        re.compile(
            r"(?:after|in reply to|following|>>>|our|sent <<<)\s{0,10}(?:the\s{1,10})?rcpt\b"
            r"|\brcpt(?: to)? command\b|\[rcpt_to\]|\bdoes not like recipient\b"
            r"|\brejected recipient\b",
        ),
    ),
    (
        "DATA",
        ("data", "sent the message"),
        re.compile(
            r"\bend of data\b|(?:after|in reply to|following|>>>)\s{0,10}(?:the\s{1,10})?data\b"
            r"|\bdata command\b|\(data\)|\bfailed after i sent the message\b"
            r"|\bfailed on data command\b",
        ),
    ),
    (
        "CONN",
        ("initial connection", "refused to talk", "greeting", "while talking to"),
        re.compile(
            r"\binitial connection\b|\brefused to talk to me\b|\bin reply to (?:the )?greeting\b"
            r"|\bbut greeting failed\b"
            # Sendmail's transcript: a reply read before any command was sent.
            r"|while talking to [^\n]{1,255}\n[ \t]{0,20}<<<",
        ),
    ),
]


def status_codes(text: str) -> list[str]:
    return [".".join(m.groups()) for m in _STATUS.finditer(text)]


def reply_codes(text: str) -> list[str]:
    return [m.group(1) for m in _REPLY.finditer(text)]


def best_status(text: str, reply: str = "") -> str:
    """The enhanced status code that best describes a failure stated in the text.

    A code right after a reply code ("550 5.7.1", "550-'5.7.1") is the remote server's own
    and wins over codes the reporting MTA wrote around it.
    """
    paired = [".".join(m.groups()) for m in _PAIRED_STATUS.finditer(text)]
    if reply:
        paired = [c for c in paired if c[0] == reply[0]]
    if paired:
        return paired[0]
    found = status_codes(text)
    failures = [c for c in found if c[0] in "45"] or found
    if reply:
        same_class = [c for c in failures if c[0] == reply[0]]
        failures = same_class or failures
    specific = [c for c in failures if not c.endswith(".0.0")]
    return (specific or failures or [""])[0]


def best_reply(text: str) -> str:
    found = reply_codes(text)
    failures = [c for c in found if c[0] in "45"]
    return (failures or found or [""])[0]


def command(text: str) -> str:
    """The SMTP step the text says the failure answered; the earliest mention wins."""
    low = text.lower()
    best, position = "", len(low) + 1
    for name, words, pattern in _COMMANDS:
        if not any(word in low for word in words):
            continue
        match = pattern.search(low)
        if match and match.start() < position:
            best, position = name, match.start()
    return best


def addresses(text: str) -> list[str]:
    return [normalize(m.group(0)) for m in _ADDRESS.finditer(text)]


def normalize(address: str) -> str:
    """An address as mailcast stores it: bare, trimmed, the domain in lower case."""
    text = address.strip()
    angled = _ANGLE.search(text)
    if angled:
        text = angled.group(1)
    text = text.strip().strip("<>\"'()[],;:").rstrip(".")
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if any(c.isspace() for c in text):
        # Not one address: a value run together with other text. Keep the address it holds.
        found = _ADDRESS.search(text)
        text = found.group(0).rstrip(".") if found else ""
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    return f"{local}@{domain.lower()}"
