"""Pieces of SMTP found in free text: status codes, reply codes, the command answered, addresses."""

from __future__ import annotations

import re

# RFC 3463 enhanced status code; the look-arounds keep IP addresses and versions out.
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_PAIRED_STATUS = re.compile(r"\b[245][0-5]\d[ \-]['\"#]?([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
# A three-digit SMTP reply code standing alone (not inside an IP, a port, a date or a URL), and
# Exchange's "#550 5.1.1 ..." (not "ticket #550"). 20x and 40x-41x are HTTP's, not SMTP's.
_REPLY = re.compile(r"(?<![\w.\-/#=+%@$])([245][0-5]\d)(?![\d.]|:\d)")
_HASHED_REPLY = re.compile(r"(?<!\S)#([245][0-5]\d) [245]\.\d")
_NOT_SMTP = ("20", "40", "41")
# A transcript's line sent by the reporting MTA, and the first failure reply it read.
_SENT = ">>>"
_FAILED_REPLY = re.compile(r"<<<\s{0,10}[45]\d\d")
_ADDRESS = re.compile(r"[\w!#$%&'*+/=?^`{|}~.\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}")
_ANGLE = re.compile(r"<([^<>@\s]{1,64}@[^<>@\s]{1,255})>")

# Phrases naming the SMTP step a reply answered, as MTAs word them in their notices.
# Each step's wording, matched in the lower-cased text, and words one of which it holds: most
# texts hold none of a step's words, and a substring test is far cheaper than the search.
# The group "said" is the reporting MTA saying which command was answered ("after RCPT TO",
# "in reply to end of DATA command", a transcript's ">>> DATA"); a step named only inside the
# reply ("need RCPT command", "Must issue a STARTTLS command first") counts when none is said.
_AFTER = r"(?:after|in reply to|following|>>>)\s{0,10}(?:(?:the|pipelined)\s{1,10})?"
_COMMANDS: list[tuple[str, tuple[str, ...], re.Pattern[str]]] = [
    ("STARTTLS", ("starttls",), re.compile(rf"(?P<said>{_AFTER}starttls\b)|\bstarttls\b")),
    (
        "EHLO",
        ("ehlo", "helo", "lhlo", "but my name"),
        re.compile(
            rf"(?P<said>{_AFTER}(?:ehlo|helo|lhlo)\b|\bbut my name was rejected\b)",
        ),
    ),
    (
        "MAIL",
        ("mail", "but sender"),
        re.compile(
            rf"(?P<said>(?:{_AFTER}|sent\s{{0,10}})mail\s{{0,10}}from\b"
            r"|\bbut sender was rejected\b)|\bmail from command\b|\bmail_from\b",
        ),
    ),
    (
        "RCPT",
        ("rcpt", "recipient"),
        re.compile(
            rf"(?P<said>(?:{_AFTER}|(?:our|sent <<<)\s{{0,10}})rcpt\b|\bdoes not like recipient\b"
            r"|\[rcpt_to\])|\brcpt(?: to)? command\b|\brejected recipient\b",
        ),
    ),
    (
        "DATA",
        ("data", "sent the message", "bdat"),
        re.compile(
            rf"(?P<said>\bend of data\b|{_AFTER}(?:data|bdat)\b|\bfailed after i sent the message\b"
            r"|\bfailed on data command\b)|\b(?:data|bdat) command\b|\(data\)",
        ),
    ),
    (
        "CONN",
        ("initial connection", "refused to talk", "greeting", "while talking to"),
        re.compile(
            r"(?P<said>\binitial connection\b|\brefused to talk to me\b"
            r"|\bin reply to (?:the )?greeting\b|\bbut greeting failed\b"
            # Sendmail's transcript: a reply read before any command was sent.
            r"|while talking to [^\n]{1,255}\n[ \t]{0,20}<<<)",
        ),
    ),
]


def status_codes(text: str) -> list[str]:
    return [".".join(m.groups()) for m in _STATUS.finditer(text)]


def reply_codes(text: str) -> list[str]:
    at = [m.start(1) for m in _REPLY.finditer(text)]
    if "#" in text:
        at = sorted(at + [m.start(1) for m in _HASHED_REPLY.finditer(text)])
    return [code for code in (text[i : i + 3] for i in at) if code[:2] not in _NOT_SMTP]


def best_status(text: str, reply: str = "") -> str:
    """The enhanced status code that best describes a failure stated in the text.

    A code right after a reply code ("550 5.7.1", "550-'5.7.1") is the remote server's own
    and wins over codes the reporting MTA wrote around it.
    """
    paired = [".".join(m.groups()) for m in _PAIRED_STATUS.finditer(text)]
    # Of the reply's class; with no reply, a failure's ("250 2.1.0 Sender ok" states none).
    wanted = reply[:1] or "45"
    for code in paired:
        # "550 5.0.0 <b@example.org>... 5.1.1 User unknown": X.0.0 says less than what follows.
        if code[0] in wanted and not code.endswith(".0.0"):
            return code
    found = status_codes(text)
    failures = [c for c in found if c[0] in "45"] or found
    if reply:
        same_class = [c for c in failures if c[0] == reply[0]]
        failures = same_class or failures
    specific = [c for c in failures if not c.endswith(".0.0")]
    return (specific or failures or [""])[0]


def best_reply(text: str) -> str:
    """The reply code that states the failure: the first permanent one, else the first
    transient one ("451 4.7.1 Greylisted ... 550 5.1.1 User unknown" ended in the 550)."""
    found = reply_codes(text)
    if len(found) < 2:
        return found[0] if found else ""
    for first in "54":
        for code in found:
            if code[0] == first:
                return code
    return found[0]


def command(text: str) -> str:
    """The SMTP step the text says the failure answered.

    The earliest step the reporting MTA says was answered wins; failing that, the earliest one
    the reply names. In a transcript the command sent last before the first failure reply is
    the one answered: earlier ones (a pipelined MAIL FROM, one answered 250) are not.
    """
    low = text.lower()
    if low.count(_SENT) > 1:
        failed = _FAILED_REPLY.search(low)
        last = low.rfind(_SENT, 0, failed.start() if failed else len(low))
        if last > 0:
            low = low[:last].replace(_SENT, "   ") + low[last:]
    best, rank = "", (2, 0)
    for name, words, pattern in _COMMANDS:
        if not any(word in low for word in words):
            continue
        match = pattern.search(low)
        while match:
            found = (0 if match.group("said") else 1, match.start())
            if found < rank:
                best, rank = name, found
            if found[0] == 0 or found > rank:
                break
            match = pattern.search(low, match.end())
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
