"""Reports cut at their delimiters read exactly as through the email package's tree."""

from __future__ import annotations

from pathlib import Path

import dsn_samples
import notices
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CORPUS, needs_corpus
from mailcast.feedback import flat_report, parse
from mailcast.feedback.model import Report


def _both(raw: bytes) -> tuple[Report, Report]:
    """The report read with the flat reader, and read with it switched off."""
    quick = parse.parse_report(raw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flat_report, "split", lambda raw: None)
        full = parse.parse_report(raw)
    return quick, full


def _success(
    recipients: list[tuple[str, str, str]],
    *,
    end: str = "\r\n",
    quoted: bool = True,
    preamble: str = "This is a MIME-encapsulated message.\n\n",
    epilogue: str = "",
    envid: str = "",
    folded: bool = False,
    returned_kind: str = "text/rfc822-headers",
    charset: str = "us-ascii",
    delimiter_tail: str = "",
    field_case: str = "Final-Recipient",
    extra_status_line: str = "",
) -> bytes:
    """A success notice as Postfix writes it, with the variations MTAs make."""
    boundary = "8F2C61A2B3.1733300000/mx.example.net"
    quoted_boundary = f'"{boundary}"' if quoted else boundary.replace("/", "_")
    if not quoted:
        boundary = boundary.replace("/", "_")
    separator = ";" if not folded else ";\n\t"
    blocks = "\n".join(
        f"{field_case}: rfc822; {address}\n"
        f"Original-Recipient: rfc822;{address}\n"
        f"Action: {action}\nStatus: {status}\nRemote-MTA: dns; mx.example.org\n"
        f"Diagnostic-Code: smtp; 250 {status} Ok: queued as 4Xyz\n"
        for address, action, status in recipients
    )
    per_message = "Reporting-MTA: dns; mx.example.net\nX-Postfix-Queue-ID: 8F2C61A2B3\n"
    if envid:
        per_message += f"Original-Envelope-Id: {envid}\n"
    returned = dsn_samples.returned_headers(recipients[0][0]) + "X-Mailcast-Message: 41\n"
    if returned_kind == "message/rfc822":
        returned += "\nHello.\n"
    text = (
        f"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
        f"To: {dsn_samples.SENDER}\n"
        "Subject: Successful Mail Delivery Report\n"
        "MIME-Version: 1.0\n"
        f"Content-Type: multipart/report; report-type=delivery-status{separator}"
        f" boundary={quoted_boundary}\n"
        "\n"
        f"{preamble}"
        f"--{boundary}{delimiter_tail}\n"
        "Content-Description: Notification\n"
        f"Content-Type: text/plain; charset={charset}\n\n"
        "This is the mail system at host mx.example.net.\n\n"
        "Your message was successfully delivered to the destination(s)\nlisted below.\n\n"
        + "".join(f"<{a}>: delivery via mx.example.org: 250 {s} Ok\n" for a, _, s in recipients)
        + f"\n--{boundary}\n"
        "Content-Description: Delivery report\n"
        "Content-Type: message/delivery-status\n\n"
        f"{per_message}\n{blocks}{extra_status_line}"
        f"\n--{boundary}\n"
        "Content-Description: Undelivered Message Headers\n"
        f"Content-Type: {returned_kind}\n\n"
        f"{returned}"
        f"\n--{boundary}--\n{epilogue}"
    )
    return text.replace("\n", end).encode("utf-8")


ADDRESSES = ["ann@example.org", "bob.smith@example.com", "c+tag@sub.example.net"]
ACTIONS = st.sampled_from(["delivered", "relayed", "expanded", "Delivered", "failed", "delayed"])
STATUSES = st.sampled_from(["2.0.0", "2.1.5", "2.6.0", "5.1.1", "4.2.2"])


@settings(max_examples=300, deadline=None)
@given(
    recipients=st.lists(
        st.tuples(st.sampled_from(ADDRESSES), ACTIONS, STATUSES), min_size=1, max_size=3
    ),
    end=st.sampled_from(["\r\n", "\n", "\r"]),
    quoted=st.booleans(),
    preamble=st.sampled_from(["", "This is a MIME-encapsulated message.\n\n"]),
    epilogue=st.sampled_from(["", "trailing words\n", "--\n"]),
    envid=st.sampled_from(["", "ENV-7", "<ENV-8>"]),
    folded=st.booleans(),
    returned_kind=st.sampled_from(["text/rfc822-headers", "message/rfc822", "text/plain"]),
    charset=st.sampled_from(["us-ascii", '"UTF-8"', "utf-7", "iso-8859-1"]),
    delimiter_tail=st.sampled_from(["", "  ", "--", "x"]),
    field_case=st.sampled_from(["Final-Recipient", "final-recipient", "Final-Recipient "]),
    extra_status_line=st.sampled_from(
        ["", "X-Note: a\n continued\n", "not a field\n", "\n\n", "Content-Type: text/plain\n"]
    ),
)
def test_any_variant_of_a_success_notice_reads_as_the_email_package_reads_it(
    **variant: object,
) -> None:
    raw = _success(**variant)  # type: ignore[arg-type]
    quick, full = _both(raw)
    assert quick == full
    if _clean(variant):
        assert flat_report.split(raw) is not None


def _clean(variant: dict[str, object]) -> bool:
    """A variant in the plain layout reporting no failure: the flat reader must take it."""
    recipients: list[tuple[str, str, str]] = variant["recipients"]  # type: ignore[assignment]
    return (
        all(action not in ("failed", "delayed") for _, action, _ in recipients)
        and variant["end"] != "\r"
        and variant["delimiter_tail"] == ""
        and variant["charset"] != "utf-7"
        and variant["field_case"] != "Final-Recipient "  # not a field to mime_fast either
        and variant["extra_status_line"] in ("", "X-Note: a\n continued\n", "\n\n")
    )


def test_a_postfix_success_is_cut_at_its_delimiters_and_read_in_full() -> None:
    raw = _success([("ann@example.org", "relayed", "2.0.0")], envid="ENV-7")
    split = flat_report.split(raw)
    assert split is not None
    top, parts = split
    assert top.get("subject") == "Successful Mail Delivery Report"
    assert parts.content_types == [
        "multipart/report",
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    report = parse.parse_report(raw)
    assert report.kind == "dsn"
    assert [(r.address, r.action, r.status) for r in report.recipients] == [
        ("ann@example.org", "relayed", "2.0.0")
    ]
    assert report.envid == "ENV-7"
    assert report.message_id == dsn_samples.RETURNED_ID
    assert report.mailcast_headers == {"x-mailcast-delivery": "7", "x-mailcast-message": "41"}


@pytest.mark.parametrize(
    "raw",
    [
        _success([("ann@example.org", "relayed", "2.0.0")]).replace(b"Ok", "Ök".encode()),
        _success([("ann@example.org", "relayed", "2.0.0")]).replace(b"\r\n", b"\r", 3),
        _success([("ann@example.org", "relayed", "2.0.0")]).replace(b"\r\n", b"\n", 3),
        _success([("ann@example.org", "relayed", "2.0.0")], delimiter_tail="  "),
        _success([("ann@example.org", "relayed", "2.0.0")], charset="utf-7"),
        _success([("ann@example.org", "relayed", "2.0.0")], extra_status_line="not a field\n"),
        _success([("ann@example.org", "relayed", "2.0.0")]).replace(
            b"Content-Type: text/plain", b"Content-Transfer-Encoding: base64\r\nContent-Type: x/y"
        ),
        b"From MAILER-DAEMON Thu Apr 29 23:34:45 2015\r\n"
        + _success([("ann@example.org", "relayed", "2.0.0")]),
    ],
    ids=[
        "8-bit",
        "lone CR",
        "mixed line ends",
        "delimiter tail",
        "utf-7",
        "not a field",
        "encoded",
        "mbox",
    ],
)
def test_what_the_flat_reader_doubts_is_left_to_the_email_package(raw: bytes) -> None:
    assert flat_report.split(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        notices.postfix([notices.unknown_at_rcpt("ann@example.org")]),
        notices.exim([notices.mailbox_full("bob@example.com")]),
        dsn_samples.postfix_dsn("ann@example.org"),
        dsn_samples.postfix_dsn("ann@example.org", action="delivered", status="2.0.0"),
        dsn_samples.arf_report("ann@example.org"),
        dsn_samples.global_dsn("ann@example.org", "2.0.0", "smtp; 250 ok"),
    ],
)
def test_notices_of_other_shapes_read_the_same(raw: bytes) -> None:
    quick, full = _both(raw)
    assert quick == full


@needs_corpus
def test_every_corpus_report_reads_the_same() -> None:
    paths = sorted(Path(CORPUS).rglob("*.eml"))
    assert paths
    for path in paths:
        quick, full = _both(path.read_bytes())
        assert quick == full, path.name
