"""Whatever arrives at the bounce address, the parser returns a report, in linear time.

Hypothesis mutates and truncates real-looking DSNs (byte flips, cuts, huge headers, deep MIME
nesting, 8-bit junk, lost boundaries). Each run checks the parser itself did not fail (not
only that `parse_report`'s last-resort guard caught something) and that every address it
reports is written in the message: it never invents a recipient.

Linear time is shown without timing anything: every regular expression of the parser has a
bounded match width (so each search costs at most a constant per input position), and input
beyond a fixed prefix is never read. `bench/parse_scaling.py` measures it.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pytest
from dsn_samples import (
    arf_report,
    auto_reply,
    exchange_ndr,
    exim_notice,
    global_dsn,
    gmail_notice,
    postfix_dsn,
    qmail_notice,
    sendmail_dsn,
    yahoo_notice,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from message_text import message_text

from conftest import CORPUS
from mailcast.feedback import mime, parse
from mailcast.feedback.model import KINDS, RecipientResult, Report

# The regex parser's private modules (no stubs): they list the repeats a pattern contains.
sre_constants: Any = importlib.import_module("re._constants")
sre_parser: Any = importlib.import_module("re._parser")

PARSER_MODULES = (
    "arf",
    "autoreply",
    "classify",
    "codes",
    "detect",
    "dsn",
    "formats",
    "hints",
    "mime",
    "model",
    "parse",
    "patterns",
    "providers",
    "rhost",
    "smtp",
    "lhost.amazon_ses",
    "lhost.common",
    "lhost.exchange",
    "lhost.exim",
    "lhost.fml",
    "lhost.gmail",
    "lhost.james",
    "lhost.mcafee",
    "lhost.mfilter",
    "lhost.postfix",
    "lhost.qmail",
    "lhost.sendmail",
    "lhost.unknown_mta",
)
# The longest text any one match of a parser pattern may span.
MAX_MATCH_WIDTH = 25_000

SEEDS: list[bytes] = [
    postfix_dsn("alice@example.org"),
    postfix_dsn("alice@example.org", action="delayed", status="4.4.1", diagnostic="timed out"),
    exim_notice("bob@example.org", "550 5.2.2 <bob@example.org>: mailbox is full"),
    sendmail_dsn("carol@example.org", "554 5.7.1 spam detected", "5.7.1"),
    qmail_notice("dave@example.org", "Sorry, no mailbox here by that name. (#5.1.1)"),
    exchange_ndr("erin@example.org", "550 5.1.10 RESOLVER.ADR.RecipientNotFound", "5.1.10"),
    gmail_notice("grace@example.org", "550 5.2.1 The email account is disabled."),
    yahoo_notice("heidi@example.org", "554 delivery error: dd This user doesn't have an account"),
    arf_report("ivan@example.org"),
    auto_reply("judy@example.org"),
    global_dsn("jörg@bücher.example", "5.2.2", "552 5.2.2 Mailbox full"),
]
# Two real MTAs' bounces join the seeds where the shared corpus is beside the checkout (CI).
SEEDS += [
    path.read_bytes()
    for name in ("lhost-sendmail-01.eml", "lhost-office365-01.eml")
    if (path := CORPUS / "bounces" / name).exists()
]

seeds = st.sampled_from(SEEDS)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(raw: bytes) -> Report:
    """The parser's own steps succeed, and what they report is sound."""
    report = parse._parse(raw)  # not parse_report: its last-resort guard must not be needed
    assert isinstance(report, Report)
    assert report.kind in KINDS
    assert parse.parse_report(raw) == report
    # Printable as the UTF-8 JSON `mailcast feedback parse --json` writes.
    json.dumps([r.as_dict() for r in report.recipients], ensure_ascii=False).encode()
    json.dumps(
        [report.envid, report.message_id, report.mailcast_headers], ensure_ascii=False
    ).encode()
    text = message_text(raw) if report.recipients else ""
    for recipient in report.recipients:
        assert isinstance(recipient, RecipientResult)
        assert recipient.address.lower() in text, recipient.address
    return report


# --- mutations -------------------------------------------------------------------------------


@st.composite
def flipped(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, 40))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    return bytes(raw)


@st.composite
def cut(draw: st.DrawFn) -> bytes:
    raw = draw(seeds)
    start = draw(st.integers(0, len(raw)))
    end = draw(st.integers(start, len(raw)))
    return raw[:start] if draw(st.booleans()) else raw[:start] + raw[end:]


@st.composite
def junk_inserted(draw: st.DrawFn) -> bytes:
    raw = draw(seeds)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=200)) + raw[at:]
    return raw


@st.composite
def huge_header(draw: st.DrawFn) -> bytes:
    raw = draw(seeds)
    size = draw(st.sampled_from([1_000, 70_000, 300_000]))
    if draw(st.booleans()):
        header = b"X-Huge: " + draw(st.sampled_from([b"a", b"5.1.1 ", b"<@", b"\xff"])) * size
    else:
        header = b"Received: from x\r\n" + b"\tby y;\r\n" * (size // 8)
    return header + b"\r\n" + raw


@st.composite
def nested(draw: st.DrawFn) -> bytes:
    raw = draw(seeds)
    for level in range(draw(st.integers(1, 300))):
        boundary = f"n{level}".encode()
        raw = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n"
            b"--" + boundary + b"\r\n" + raw + b"\r\n--" + boundary + b"--\r\n"
        )
    return b"From: MAILER-DAEMON@example.net\r\nMIME-Version: 1.0\r\n" + raw


@st.composite
def boundaries_lost(draw: st.DrawFn) -> bytes:
    raw = draw(seeds)
    lines = raw.split(b"\n")
    marked = [i for i, line in enumerate(lines) if line.startswith(b"--")]
    if not marked:
        return raw.replace(b"boundary=", b"b=")
    drop = set(draw(st.lists(st.sampled_from(marked), min_size=1)))
    return b"\n".join(line for i, line in enumerate(lines) if i not in drop)


@FUZZ
@given(flipped())
def test_random_byte_flips(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(cut())
def test_truncated_and_cut_messages(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(junk_inserted())
def test_eight_bit_junk(raw: bytes) -> None:
    check(raw)


@settings(FUZZ, max_examples=30)
@given(huge_header())
def test_huge_headers(raw: bytes) -> None:
    check(raw)


@settings(FUZZ, max_examples=40)
@given(nested())
def test_deep_mime_nesting(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(boundaries_lost())
def test_missing_boundaries(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(raw: bytes) -> None:
    check(raw)


# Found by the byte flips: a charset name that is no name at all, or names no text codec.
@pytest.mark.parametrize("charset", ["utf\x00-8", "rot13", "base64", "idna", "x-unknown"])
def test_a_nonsense_charset_is_read_as_utf8(charset: str) -> None:
    raw = SEEDS[0].replace(
        b"Content-Type: text/plain; charset=utf-8",
        f'Content-Type: text/plain; charset="{charset}"'.encode(),
        1,
    )
    assert raw != SEEDS[0]
    check(raw)
    assert mime.decode("caf\u00e9".encode(), charset) == "caf\u00e9"


def test_a_recipient_field_run_together_with_junk_yields_only_the_address() -> None:
    raw = postfix_dsn("alice@example.org").replace(
        b"Final-Recipient: rfc822; alice@example.org",
        b"Final-Recipient: rfc822; alice@example.org b=Zm9vYmFy (Mon, 5 Jan 2026)",
    )
    assert [r.address for r in check(raw).recipients] == ["alice@example.org"]


def test_a_mutated_dsn_still_names_its_recipient() -> None:
    # A cut through the returned headers loses nothing the status fields said.
    raw = postfix_dsn("alice@example.org")
    report = check(raw[: raw.index(b"X-Mailcast-Delivery")])
    assert [(r.address, r.reason) for r in report.recipients] == [
        ("alice@example.org", "userunknown")
    ]


# --- linear in the input ---------------------------------------------------------------------


def _parser_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Every compiled pattern the parser's modules hold, in tables or alone."""
    found: list[tuple[str, re.Pattern[str]]] = []
    for name in PARSER_MODULES:
        module = importlib.import_module(f"mailcast.feedback.{name}")
        for attr, value in vars(module).items():
            found += [(f"{name}.{attr}", p) for p in _patterns_in(value)]
    return found


def _patterns_in(value: Any) -> list[re.Pattern[str]]:
    if isinstance(value, re.Pattern):
        return [value]
    if isinstance(value, dict):
        return [p for item in value.values() for p in _patterns_in(item)]
    if isinstance(value, list | tuple):
        return [p for item in value for p in _patterns_in(item)]
    return []


def _unbounded_repeats(items: Any) -> list[str]:
    """Repeats with no upper bound (*, +, {n,}), inside groups and look-arounds too."""
    found: list[str] = []
    for op, arg in items:
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            _low, high, body = arg
            if high == sre_constants.MAXREPEAT:
                found.append(str(body)[:60])
            found += _unbounded_repeats(body)
        elif op == sre_constants.SUBPATTERN:
            found += _unbounded_repeats(arg[-1])
        elif op == sre_constants.BRANCH:
            found += [x for branch in arg[1] for x in _unbounded_repeats(branch)]
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            found += _unbounded_repeats(arg[1])
    return found


def test_the_parser_patterns_are_found() -> None:
    found = _parser_patterns()
    names = {name for name, _ in found}
    assert len(found) > 70
    assert "patterns.COMPILED" in names and "formats._LEADING" in names


@pytest.mark.parametrize(("name", "pattern"), _parser_patterns(), ids=lambda v: str(v)[:40])
def test_every_pattern_has_a_bounded_match_width(name: str, pattern: re.Pattern[str]) -> None:
    """No *, + or {n,}: a match spans a bounded text, so each search is linear in its input."""
    tree = sre_parser.parse(pattern.pattern, pattern.flags)
    assert _unbounded_repeats(tree) == [], name
    assert tree.getwidth()[1] <= MAX_MATCH_WIDTH, name


def test_the_bounded_scan_catches_a_nested_quantifier() -> None:
    tree = sre_parser.parse(r"(?:a+)+b")
    assert len(_unbounded_repeats(tree)) == 2
    assert _unbounded_repeats(sre_parser.parse(r"(?=\s*x)")) != []


def test_input_beyond_the_prefix_is_never_read() -> None:
    """Parse work stops growing at mime.MAX_BYTES: a 10 MB bounce reads as its first part."""
    raw = exim_notice("bob@example.org", "550 5.2.2 mailbox is full")
    huge = raw + b"Lorem ipsum <x@example.com> 550 5.1.1 user unknown\r\n" * 200_000
    assert len(huge) > 10_000_000
    report = check(huge[: mime.MAX_BYTES])
    assert parse.parse_report(huge) == report
    assert [r.address for r in report.recipients] == ["bob@example.org"]
