"""The filtering rules of preparation (ACS order) and the control rules of a delivery."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Literal
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from mailcast.audience.target import TargetRow
from mailcast.domain import EXCLUDED_ADDRESS_STATUSES, AddressStatus, ExclusionReason


@dataclass(frozen=True)
class Finding:
    """A line of the preparation log: a blocking error or a warning."""

    level: Literal["error", "warning"]
    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"level": self.level, "rule": self.rule, "message": self.message}


class Blocked(Exception):
    """A rule that stops the preparation where it is; `finding` says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


# The rules that come before duplicate removal (ACS order): a profile they leave out does not
# make the next profile with the same address a duplicate, since that one is the first kept.
BEFORE_DEDUPLICATION = frozenset(
    {ExclusionReason.ADDRESS_EMPTY, ExclusionReason.DENYLISTED, ExclusionReason.QUARANTINED}
)


def exclusion_for(row: TargetRow, previous_key: str | None) -> ExclusionReason | None:
    """The first filtering rule that leaves this recipient out, in the ACS order.

    Rows come ordered by address key, so a duplicate address follows the first one directly;
    `previous_key` is the address of the last row that passed the rules before deduplication.
    """
    if not row.email:
        return ExclusionReason.ADDRESS_EMPTY
    if not row.email_subscribed:
        return ExclusionReason.DENYLISTED
    if row.address_status in EXCLUDED_ADDRESS_STATUSES:
        return EXCLUDED_ADDRESS_STATUSES[AddressStatus(row.address_status)]
    if row.email_key == previous_key:
        return ExclusionReason.DUPLICATE
    return None


def check_headers(subject: str, from_addr: str, reply_to: str | None) -> list[Finding]:
    findings = []
    if not subject.strip():
        findings.append(Finding("error", "subject", "the subject is empty"))
    for name, value in (("From", from_addr), ("Reply-To", reply_to)):
        if value is None:
            continue
        problem = _address_problem(value)
        if problem:
            findings.append(Finding("error", name.lower(), f"the {name} address {problem}"))
    return findings


def _address_problem(value: str) -> str | None:
    if "\r" in value or "\n" in value:
        return "contains a line break"
    _, address = parseaddr(value)
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"'{value}' is not valid: {exc}"
    return None


def check_content(html: str, text: str) -> list[Finding]:
    if not html.strip() and not text.strip():
        return [Finding("error", "content", "the message has neither an HTML nor a text body")]
    return []


# A body has an unsubscribe link when it writes mailcast's own (`{{ unsubscribe_url }}`), or
# when, in HTML, an <a href> says "unsubscribe" in its address or its text, or, in text, a URL
# stands on a line that says "unsubscribe" ("Unsubscribe: https://..."). The template is read
# as written, before any link is rewritten for tracking.
_UNSUBSCRIBE_URL = re.compile(r"\{\{-?\s*unsubscribe_url\b")
_ANCHOR = re.compile(r"<a\s([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_HREF_ATTRIBUTE = re.compile(r"\bhref\s*=", re.IGNORECASE)
_TEXT_URL = re.compile(r"\b(?:https?://|mailto:)\S", re.IGNORECASE)


def check_unsubscribe_link(html: str, text: str, *, required: bool) -> list[Finding]:
    """Each body that is not empty needs an unsubscribe link (ACS); blocking when required."""
    level: Literal["error", "warning"] = "error" if required else "warning"
    findings = []
    for part, body, links in (("HTML", html, _html_links(html)), ("text", text, _text_links(text))):
        if body.strip() and not _has_unsubscribe_link(body, links):
            message = f"the {part} body has no unsubscribe link (use {{{{ unsubscribe_url }}}})"
            findings.append(Finding(level, "unsubscribe", message))
    return findings


def _html_links(body: str) -> list[str]:
    """Each <a href> of the body: its attributes and its text."""
    anchors = _ANCHOR.findall(body)
    return [f"{attrs} {inner}" for attrs, inner in anchors if _HREF_ATTRIBUTE.search(attrs)]


def _text_links(body: str) -> list[str]:
    """Each line of the body that holds a URL."""
    return [line for line in body.splitlines() if _TEXT_URL.search(line)]


def _has_unsubscribe_link(body: str, links: list[str]) -> bool:
    if _UNSUBSCRIBE_URL.search(body):
        return True
    return any("unsubscribe" in link.lower() for link in links)


def check_proof_target(addresses: list[str], limit: int) -> list[Finding]:
    """At most `limit` proof addresses (ACS: 100)."""
    if len(addresses) <= limit:
        return []
    message = f"the proof target has {len(addresses)} addresses; at most {limit} are allowed"
    return [Finding("error", "proofs", message)]


# Gmail clips a message above "102 KB" and hides the rest behind a link (its pixel and
# unsubscribe link with it). Counted in bytes of the whole message as sent, 1 KB = 1000 bytes:
# the lower reading of "102 KB", so the warning comes early rather than late.
CLIPPED_ABOVE_BYTES = 102_000


def check_message_size(address: str, size: int, max_bytes: int) -> None:
    """A message above send.max_message_bytes blocks the delivery (the relay would refuse it)."""
    if size > max_bytes:
        message = (
            f"the message to {address} is {size:,} bytes, larger than "
            f"send.max_message_bytes ({max_bytes:,})"
        )
        raise Blocked(Finding("error", "message_size", message))


def clipped_finding(clipped: int, largest: int) -> list[Finding]:
    """The warning about messages Gmail clips, if any."""
    if not clipped:
        return []
    message = (
        f"{clipped} message(s) are larger than {CLIPPED_ABOVE_BYTES:,} bytes (the largest: "
        f"{largest:,} bytes): Gmail shows only their beginning"
    )
    return [Finding("warning", "message_size", message)]


_HREF = re.compile(r"""(?:href|src)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_BARE_URL = re.compile(r"""\bhttps?://[^\s<>"']*""", re.IGNORECASE)


def malformed_urls(html: str, text: str) -> list[str]:
    """The links of a rendered message that are not well-formed absolute URLs."""
    urls = _HREF.findall(html) + _BARE_URL.findall(text)
    return [url for url in urls if not _well_formed(url)]


def _well_formed(url: str) -> bool:
    url = url.strip()
    if url.startswith("#"):
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme in ("http", "https"):
        return bool(parts.hostname) and " " not in url
    return parts.scheme in ("mailto", "tel") and bool(parts.path)
