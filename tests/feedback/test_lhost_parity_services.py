"""Parity with sisimai's readers: SES (JSON and mailed), James, m-FILTER, fml and ARF."""

from __future__ import annotations

import base64

import notices_parity as p
import pytest
from reading import family_and_outcomes, outcomes

A, B, C = "alice@dest.example", "bob@dest.example", "carol@other.example"


def _reasons(raw: bytes) -> list[tuple[str, str]]:
    return [(address, str(reason)) for address, reason, _ in outcomes(raw)]


def _bounced(address: str, status: str, diagnostic: str) -> dict[str, str]:
    return {
        "emailAddress": address,
        "action": "failed",
        "status": status,
        "diagnosticCode": diagnostic,
    }


def test_ses_json_general_bounce_lets_the_diagnostic_decide() -> None:
    expired = "smtp; 554 4.4.7 Message expired: unable to deliver in 840 minutes."
    raw = p.ses_json(
        [_bounced(A, "5.1.1", "smtp; 550 5.1.1 user unknown"), _bounced(B, "5.0.0", expired)],
        ("Permanent", "General"),
    )
    assert _reasons(raw) == [(A, "userunknown"), (B, "expired")]


@pytest.mark.parametrize("subtype", ["Suppressed", "OnAccountSuppressionList"])
def test_ses_json_suppression_lists(subtype: str) -> None:
    raw = p.ses_json([{"emailAddress": A}, {"emailAddress": B}], ("Permanent", subtype))
    assert _reasons(raw) == [(A, "suppressed"), (B, "suppressed")]


@pytest.mark.parametrize(("folded", "envelope"), [(True, True), (False, False), (True, False)])
def test_ses_json_folded_or_bare(folded: bool, envelope: bool) -> None:
    items = [
        _bounced(A, "5.1.1", "smtp; 550 5.1.1 user unknown"),
        _bounced(B, "5.2.2", "smtp; 552 5.2.2 Mailbox full"),
    ]
    raw = p.ses_json(items, ("Permanent", "General"), folded=folded, envelope=envelope)
    assert _reasons(raw) == [(A, "userunknown"), (B, "mailboxfull")]


def test_ses_json_with_braces_after_the_object() -> None:
    raw = p.ses_json(
        [_bounced(A, "5.1.1", "smtp; 550 5.1.1 user unknown")], ("Permanent", "General")
    )
    raw = raw.replace(b"--\r\nIf you wish", b"--\r\n{unsubscribe}: If you wish")
    assert _reasons(raw) == [(A, "userunknown")]


def test_ses_mailed_both_first_lines() -> None:
    old = p.ses_mail(
        [
            (
                A,
                "5.1.0",
                "smtp; 5.1.0 - Unknown address error 550-'5.1.1 <alice@dest.example>:"
                " User unknown'",
            ),
            (B, "5.1.0", "smtp; 5.1.0 - Unknown address error 550-'5.1.1 bob: no such user'"),
        ],
        first_line=f"The following message to <{A}> was undeliverable.\nThe reason:",
    )
    assert _reasons(old) == [(A, "userunknown"), (B, "userunknown")]
    new = p.ses_mail(
        [
            (A, "5.4.7", "smtp; 5.4.7 - Delivery expired (message too old) 'timeout'"),
            (
                B,
                "5.0.0",
                "smtp; 550 5.7.1 Service unavailable; client [192.0.2.64] blocked using zen",
            ),
        ],
        first_line="An error occurred while trying to deliver the mail to the following"
        f" recipients:\n{A}\n{B}",
    )
    assert _reasons(new) == [(A, "expired"), (B, "blocked")]


def test_james_error_without_a_step_is_a_filters_for_every_listed_recipient() -> None:
    """sisimai reads no step in James's notice: "no such user" said at none is Filtered."""
    raw = p.james(["550 - Requested action not taken: no such user here"], [A, B, C])
    assert family_and_outcomes(raw)[0] == "james"
    assert _reasons(raw) == [(A, "filtered"), (B, "filtered"), (C, "filtered")]
    full = p.james(["Remote server told me: 552 5.2.2 Mailbox quota exceeded", "for alice"], [A])
    assert _reasons(full) == [(A, "mailboxfull")]


def test_mfilter_groups_each_with_its_message_and_command() -> None:
    raw = p.mfilter(
        [
            ([A], "550 5.1.1 unknown user <alice@dest.example>", "RCPT"),
            ([B], "552 5.2.2 mailbox full", "DATA"),
        ]
    )
    assert family_and_outcomes(raw)[0] == "mfilter"
    assert _reasons(raw) == [(A, "userunknown"), (B, "mailboxfull")]
    shared = p.mfilter([([A, f"<{B}>", C], "550 5.1.1 unknown user", "RCPT")])
    assert _reasons(shared) == [(A, "userunknown"), (B, "userunknown"), (C, "userunknown")]
    assert _reasons(p.mfilter([([A], "550 Unknown user alice@dest.example", "DATA")])) == [
        (A, "filtered")
    ]
    assert _reasons(p.mfilter([([A, B], "554 5.7.1 Access denied", "HELO")])) == [
        (A, "blocked"),
        (B, "blocked"),
    ]


@pytest.mark.parametrize(
    ("lines", "subject", "reason"),
    [
        (
            [f"You are not a member of this mailing list <{A}>.", "", "If you know the guide"],
            "Rejected: are not member (news ML)",
            "rejected",
        ),
        ([f"Duplicated Message-ID in <{A}>."], "Loop Alert: duplicated (news ML)", "systemerror"),
        (
            [f"Security alert: <{A}> sent a forged command."],
            "Security Alert (news ML)",
            "securityerror",
        ),
        ([f"Your post to <{A}> was refused."], "reject mail from x (news ML)", "rejected"),
    ],
)
def test_fml_body_then_subject_tables(lines: list[str], subject: str, reason: str) -> None:
    raw = p.fml(lines, subject)
    assert family_and_outcomes(raw)[0] == "fml"
    assert _reasons(raw) == [(A, reason)]


def test_fml_lists_each_address() -> None:
    raw = p.fml(
        [f"NOT MEMBER article from <{A}>.", f"NOT MEMBER article from <{B}>."], "x (news ML)"
    )
    assert _reasons(raw) == [(A, "rejected"), (B, "rejected")]


def test_arf_lists_every_original_rcpt_to() -> None:
    raw = p.arf([f"Original-Rcpt-To: <{A}>", f"Original-Rcpt-To: {B}", f"Original-Rcpt-To: <{C}>"])
    assert _reasons(raw) == [(A, "feedback"), (B, "feedback"), (C, "feedback")]
    redacted = p.arf(["Redacted-Address: alice@"], returned_to=A)
    assert _reasons(redacted) == [(A, "feedback")]


def test_arf_report_part_in_base64() -> None:
    fields = "".join(f"Original-Rcpt-To: <{a}>\r\n" for a in (A, B, C))
    encoded = base64.encodebytes(f"Feedback-Type: abuse\r\nVersion: 1\r\n{fields}".encode())
    raw = p.arf([]).replace(
        b"Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
        b"User-Agent: Reporter/2.0\r\nVersion: 1\r\n",
        b"Content-Type: message/feedback-report\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded.replace(b"\n", b"\r\n"),
    )
    assert _reasons(raw) == [(A, "feedback"), (B, "feedback"), (C, "feedback")]


def test_arf_recipients_listed_in_the_text_part() -> None:
    intro = "This is an email abuse report for an email message received from IP 192.0.2.9"
    listed = f"{intro}\n\nFeedback-Type: abuse\nOriginal-Rcpt-To: <{A}>\nOriginal-Rcpt-To: <{B}>"
    assert _reasons(p.arf([], intro=listed)) == [(A, "feedback"), (B, "feedback")]


@pytest.mark.parametrize("sender", ["complaints@email-abuse.amazonses.com", "staff@hotmail.com"])
def test_complaints_mailed_as_multipart_mixed(sender: str) -> None:
    """SES's and Hotmail's complaints: no report part, recognised by sender and subject."""
    raw = p.complaint_mixed(sender, [A, B])
    assert _reasons(raw) == [(A, "feedback"), (B, "feedback")]
