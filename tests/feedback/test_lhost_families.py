"""Smaller families in the layouts they vary in: every recipient found, each with its own cause."""

from __future__ import annotations

import notices as n
import notices_families as nf
import pytest
from reading import outcomes

from mailcast.feedback import classify
from mailcast.feedback.lhost.common import finding
from mailcast.feedback.parse import parse_report

A, B, C = "alice@dest.example", "bob@dest.example", "carol@other.example"


def _failures(wording: int) -> list[n.Failure]:
    return [
        n.unknown_at_rcpt(A, wording),
        n.mailbox_full(B),
        n.Failure(C, "", "554 5.7.1 Message rejected as spam", "spamdetected", "5.7.1"),
    ]


@pytest.mark.parametrize("wording", [0, 1])
@pytest.mark.parametrize("layout", ["part", "pasted", "plain"])
def test_ses_mailed_notices_name_every_recipient_with_its_own_diagnostic(
    layout: str, wording: int
) -> None:
    failures = _failures(wording)
    raw = nf.ses_mail(failures, layout=layout)
    assert parse_report(raw).family == "amazon_ses"
    assert outcomes(raw) == [(f.address, f.reason, f.hard) for f in failures]


@pytest.mark.parametrize("layout", ["part", "plain"])
def test_ses_own_words_around_the_remote_reply(layout: str) -> None:
    refused = n.Failure(A, "", "550 5.7.1 <a@dest.example>... Relaying denied", "norelaying")
    unknown = n.Failure(A, "", "550 5.1.1 <alice@dest.example>... User Unknown", "userunknown")
    for failure in (refused, unknown):
        raw = nf.ses_mail([failure], layout=layout, wrapped="5.1.0 - Unknown address error")
        assert outcomes(raw) == [(A, failure.reason, failure.hard)]


@pytest.mark.parametrize(
    "last_error", ["DNS Soft Error looking up dest.example (MX): NXDomain", "timeout"]
)
def test_ses_giving_up_is_an_expiry_whatever_the_last_error(last_error: str) -> None:
    wrapped = "5.4.7 - Delivery expired (message too old)"
    failure = n.Failure(A, "", f"550 {last_error}", "expired")
    raw = nf.ses_mail([failure], wrapped=wrapped)
    assert outcomes(raw) == [(A, "expired", False)]


@pytest.mark.parametrize("indent", ["  ", ""])
def test_james_lists_further_recipients_below_rcpt_to(indent: str) -> None:
    failures = [n.unknown_at_rcpt(a, 2) for a in (A, B, C)]
    report = parse_report(nf.james_listed(failures, indent=indent))
    assert report.family == "james"
    assert [r.address for r in report.recipients] == [A, B, C]


@pytest.mark.parametrize("jis", [True, False])
def test_mfilter_addresses_sharing_one_server_message(jis: bool) -> None:
    raw = nf.mfilter_shared([A, B, C], "550 5.1.1 unknown user", "RCPT", jis=jis)
    report = parse_report(raw)
    assert report.family == "mfilter"
    assert outcomes(raw) == [(a, "userunknown", True) for a in (A, B, C)]


def test_fml_duplicated_message_id_is_a_loop() -> None:
    raw = n.fml([A]).replace(
        b"You are not a member of this mailing list", b"Duplicated Message-ID in"
    )
    raw = raw.replace(b"Rejected: are not member", b"fml notice")
    assert outcomes(raw) == [(A, "systemerror", False)]


# sisimai's rule: X.1.1 is no bad mailbox when the server's words give another cause.
OTHER_CAUSES = [
    ("550 5.1.1 User unknown; client host [192.0.2.1] blocked using zen.spamhaus.org", "blocked"),
    ("550 5.1.1 Recipient unknown; this domain does not accept mail", "notaccept"),
    ("550 5.1.1 <a@dest.example>... User unknown, relaying denied", "norelaying"),
    ("550 5.1.1 mailbox unavailable: mailbox full", "mailboxfull"),
    ("550 5.1.1 unknown recipient; rejected by policy", "policyviolation"),
]


@pytest.mark.parametrize(("reply", "cause"), OTHER_CAUSES)
def test_a_5_1_1_status_yields_to_the_cause_the_server_names(reply: str, cause: str) -> None:
    item = finding(A, reply, "RCPT")
    assert classify.reason(item) == cause
    # A refusal of all mail is sisimai's one hard cause besides a bad address or domain.
    assert classify.is_hard(cause, item.status) == (cause == "notaccept")


@pytest.mark.parametrize(("reply", "cause"), OTHER_CAUSES[:2])
def test_a_5_1_1_with_another_cause_at_no_stated_step_is_a_filter(reply: str, cause: str) -> None:
    assert classify.reason(finding(A, reply)) == "filtered"
    assert classify.reason(finding(A, reply, "DATA")) == "filtered"


@pytest.mark.parametrize("wording", range(2))
def test_a_5_1_1_that_only_says_unknown_stays_a_bad_mailbox(wording: int) -> None:
    failure = n.unknown_at_rcpt(A, wording)
    for step in ("RCPT", "", "DATA"):
        assert classify.reason(finding(A, failure.reply, step)) == "userunknown"
