"""The quick MIME reader builds the tree the email package builds, or says it is not sure.

Checked on every bounce of the shared corpus, on the project's generated notices of every
family, and on hostile shapes: the reports parsed either way are the same, and so are the
trees wherever the quick reader answers.
"""

from __future__ import annotations

import email
import inspect
from collections.abc import Iterator
from email.message import Message

import dsn_samples
import notices
import notices_more
import pytest

from conftest import CORPUS, needs_corpus
from mailcast.feedback import mime, mime_fast
from mailcast.feedback.parse import parse_report

ADDRESSES = ["ann@example.net", "bob@example.org", "cy@example.com"]


def _generated() -> Iterator[tuple[str, bytes]]:
    """Each builder of the fixture modules, called with what its signature asks for."""
    failures = [notices.unknown_at_rcpt(ADDRESSES[0]), notices.mailbox_full(ADDRESSES[1])]
    arguments = {
        "failures": failures,
        "failure": failures[0],
        "members": ADDRESSES,
        "recipients": ADDRESSES,
        "codes": ["5.1.1", "5.2.2"],
        "address": ADDRESSES[0],
        "reply": "550 5.1.1 <ann@example.net>... User unknown",
        "said": "Sorry, no mailbox here by that name. (#5.1.1)",
        "status": "5.1.1",
        "diagnostic": "smtp; 550 5.1.1 user unknown",
        "code": "5.1.1",
        "words": "The recipient does not exist",
        "addresses": ADDRESSES,
        "groups": ["team@googlegroups.com"],
        "categories": ["bad-mailbox", "quota-issues"],
        "comments": ["user unknown", "mailbox full"],
        "body": "Delivery failed for ann@example.net: 550 user unknown\n",
        "subject": "Undeliverable",
    }
    for module in (notices, notices_more, dsn_samples):
        for name, builder in inspect.getmembers(module, inspect.isfunction):
            if builder.__module__ != module.__name__ or name.startswith("_"):
                continue
            parameters = inspect.signature(builder).parameters.values()
            required = [p.name for p in parameters if p.default is inspect.Parameter.empty]
            if not set(required) <= arguments.keys():
                continue
            raw = builder(**{n: arguments[n] for n in required})
            if isinstance(raw, bytes):
                yield f"{module.__name__}.{name}", raw
    status = "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; ann@example.net\n"
    notice, returned = "Could not deliver your message.\n", "To: ann@example.net\nSubject: hi\n"
    for kind in ("text/rfc822-headers", "message/rfc822"):
        raw = dsn_samples.multipart_report(notice, status, returned, returned_type=kind)
        yield f"dsn_samples.multipart_report {kind}", raw


def _corpus() -> Iterator[tuple[str, bytes]]:
    for path in sorted((CORPUS / "bounces").rglob("*")):
        if path.is_file():
            yield path.name, path.read_bytes()


HOSTILE = {
    "no close delimiter": b"Content-Type: multipart/report; boundary=XX\n\n--XX\n\nhello\n",
    "no first delimiter": b"Content-Type: multipart/mixed; boundary=XX\n\nhello\n--XX--\n",
    "no boundary": b"Content-Type: multipart/mixed\n\n--XX\nhello\n--XX--\n",
    "delimiter in the text": (
        b"Content-Type: multipart/mixed; boundary=XX\n\n--XX\n\nsee --XXY and --XX x\n--XX--\n"
    ),
    "crlf and cr": (
        b'Subject: a\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\npre\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nline\rnext\r\n--b--\r\nepilogue\r\n"
    ),
    "8-bit header": "Subject: caf\u00e9 d\u00e9j\u00e0\nFrom: x@y\n\nbody\n".encode(),
    "part with no header block": (
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\nno header here\n--b--\n"
    ),
    "part with only a blank line": b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b--\n",
    "empty": b"",
    "headers only": b"Subject: nothing follows\nFrom: a@b",
    "mbox From_ line": b"From MAILER-DAEMON Thu Apr 29 23:34:45 2015\nSubject: x\n\nbody\n",
    "continuation first": b" folded\nSubject: x\n\nbody\n",
    "not a field": b"Subject: x\nthis is not a field\n\nbody\n",
    "status blocks": (
        b"Content-Type: multipart/report; boundary=b\n\n--b\n"
        b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; a\n\n\n"
        b"Final-Recipient: rfc822; a@b\nAction: failed\n  folded\n\n--b--\n"
    ),
    "status block typed as a message": (
        b"Content-Type: multipart/report; boundary=b\n\n--b\n"
        b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; a\n"
        b"Content-Type: message/rfc822\n\nFinal-Recipient: rfc822; a@b\nAction: failed\n\n--b--\n"
    ),
    "encoded status": (
        b"Content-Type: multipart/report; boundary=b\n\n--b\n"
        b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        b"UmVwb3J0aW5nLU1UQTogZG5zOyBh\n--b--\n"
    ),
    "nested": (
        b"Content-Type: multipart/mixed; boundary=out\n\n--out\n"
        b"Content-Type: multipart/alternative; boundary=in\n\n--in\n"
        b"Content-Type: text/plain\n\nplain\n--in\nContent-Type: text/html\n\n<b>x</b>\n"
        b"--in--\nafter inner\n--out\nContent-Type: message/rfc822\n\nSubject: inner\n\nhi\n"
        b"--out--\n"
    ),
    "digest": b"Content-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: x\n\nhi\n--b--\n",
    "double delimiter": b"Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nx\n--b--\n",
}


def _same_tree(fast: Message, slow: Message) -> None:
    assert fast.items() == slow.items()
    assert fast.get_content_type() == slow.get_content_type()
    assert fast.is_multipart() == slow.is_multipart()
    if fast.is_multipart():
        fast_parts, slow_parts = fast.get_payload(), slow.get_payload()
        assert isinstance(fast_parts, list) and isinstance(slow_parts, list)
        assert len(fast_parts) == len(slow_parts)
        for a, b in zip(fast_parts, slow_parts, strict=True):
            _same_tree(a, b)
        assert (fast.preamble, fast.epilogue) == (slow.preamble, slow.epilogue)
    else:
        assert fast.get_payload() == slow.get_payload()
        assert fast.get_payload(decode=True) == slow.get_payload(decode=True)


def _check(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> Message | None:
    fast = mime_fast.load(raw[: mime.MAX_BYTES])
    if fast is not None:
        _same_tree(fast, email.message_from_bytes(raw[: mime.MAX_BYTES]))
    quick = parse_report(raw)
    with monkeypatch.context() as patched:
        patched.setattr(mime_fast, "load", lambda raw: None)
        patched.setattr(mime_fast, "headers", lambda text: None)
        assert parse_report(raw) == quick
    return fast


@pytest.mark.parametrize(("name", "raw"), list(_generated()))
def test_generated_notices_read_the_same(
    name: str, raw: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(raw, monkeypatch)


@pytest.mark.parametrize(("name", "raw"), HOSTILE.items())
def test_hostile_shapes_read_the_same(
    name: str, raw: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(raw, monkeypatch)


@needs_corpus
def test_the_corpus_reads_the_same_and_mostly_the_quick_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus = list(_corpus())
    assert corpus, f"no file under {CORPUS / 'bounces'}"
    quick = [name for name, raw in corpus if _check(raw, monkeypatch) is not None]
    assert len(quick) >= 0.6 * len(corpus), f"{len(quick)} of {len(corpus)} read quickly"


def test_the_common_shapes_take_the_quick_way() -> None:
    failure = [notices.unknown_at_rcpt(ADDRESSES[0])]
    success = dsn_samples.postfix_dsn(ADDRESSES[0], action="relayed", status="2.0.0")
    common = [notices.postfix(failure), notices.exim(failure), notices.sendmail(failure)]
    common += [success, dsn_samples.postfix_dsn(ADDRESSES[0])]
    for raw in [*common, *(r.replace(b"\n", b"\r\n") for r in common)]:
        assert mime_fast.load(raw) is not None
    unsure = ["no close delimiter", "no boundary", "mbox From_ line", "not a field"]
    unsure += ["status block typed as a message", "digest", "double delimiter"]
    for name in unsure:
        assert mime_fast.load(HOSTILE[name]) is None, name
