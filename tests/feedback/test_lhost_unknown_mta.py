"""Unnamed MTAs (sisimai's X1-X6) and Sendmail V5: every recipient, each read as sisimai reads it.

These layouts name no SMTP step (X1, X2) or name it their own way (X3's "SMTP:RCPT", X6's
"Error following RCPT command", V5's ">>>" lines); "user unknown" said at no known step is a
filter's refusal (sisimai's Filtered), at RCPT TO or with X.1.1 the mailbox's.
"""

from __future__ import annotations

import notices_unknown_mta as nu
import pytest
from reading import family_and_outcomes

A, B, C = "alice@dest.example", "bob@dest.example", "carol@other.example"


def test_x1_reads_each_address_and_its_bracketed_reason() -> None:
    raw = nu.x1([(A, "User unknown"), (B, "Mailbox full"), (C, "Host unknown")])
    assert family_and_outcomes(raw) == (
        "unknown_mta",
        [(A, "filtered", False), (B, "mailboxfull", False), (C, "hostunknown", True)],
    )


@pytest.mark.parametrize(
    ("subject", "sender"),
    [
        ("Mail Delivery Failure", "MAILER-DAEMON@mx.dest.example"),
        ("Returned Mail: Error", '"Mail Deliver System" <postmaster@mx.dest.example>'),
    ],
)
def test_x1_with_a_reply_in_the_brackets_and_its_detail_below(subject: str, sender: str) -> None:
    rows = [
        (A, f"550 5.1.1 <{A}>... User unknown"),
        (B, "Delivery failed\n    552 5.2.2 Quota exceeded for this mailbox"),
    ]
    raw = nu.x1(rows, subject=subject, sender=sender)
    assert family_and_outcomes(raw)[1] == [(A, "userunknown", True), (B, "mailboxfull", False)]


def test_x2_reads_the_lines_below_each_address() -> None:
    raw = nu.x2(
        [
            (A, "Sorry, no mailbox here by that name. (#5.1.1)"),
            (B, f"Sorry, your message to {B} cannot be delivered.\nThis account is over quota."),
            (C, "This user doesn't have a other.example account (carol@other.example) [0]"),
        ]
    )
    assert family_and_outcomes(raw) == (
        "unknown_mta",
        [(A, "userunknown", True), (B, "mailboxfull", False), (C, "filtered", False)],
    )


def test_x2_states_no_step_whatever_the_reply_says() -> None:
    # "does not like recipient" is qmail's word for RCPT TO; X2 only quotes it, and sisimai
    # reads the refusal as said at no known step: a filter's, unless a X.1.1 code says more.
    said = "192.0.2.9 does not like recipient.\nRemote host said: 550 sorry, user unknown"
    coded = f"Remote host said: 550 5.1.1 <{B}>... User unknown"
    raw = nu.x2([(A, said), (B, coded)], subject="failed delivery")
    assert family_and_outcomes(raw)[1] == [(A, "filtered", False), (B, "userunknown", True)]


def test_x3_lone_recipient_takes_every_technical_detail() -> None:
    details = [
        f"SMTP:RCPT host 192.0.2.8: 553 5.3.0 <{A}>... No such user here",
        "Status: 5.1.1",
    ]
    assert family_and_outcomes(nu.x3([A], details)) == ("unknown_mta", [(A, "userunknown", True)])


def test_x3_several_recipients_each_with_the_detail_naming_it() -> None:
    details = [
        f"SMTP:DATA host 192.0.2.9: 552 5.2.2 <{B}> Over quota",
        f"SMTP:RCPT host 192.0.2.8: 550 5.1.1 <{A}>... User unknown",
    ]
    raw = nu.x3([A, B], details)
    assert family_and_outcomes(raw)[1] == [(A, "userunknown", True), (B, "mailboxfull", False)]


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ("Diagnostic-Code: smtp; 552 5.2.2 Over quota", "mailboxfull"),
        (f"Routing: Could not find a gateway for {A}", "expired"),
    ],
)
def test_x3_routing_and_status_field_details(detail: str, reason: str) -> None:
    raw = nu.x3([A], [detail], heading="was aborted after 5.0 hour(s)")
    assert family_and_outcomes(raw)[1] == [(A, reason, False)]


def test_x5_reads_the_status_fields_of_the_forwarded_notice() -> None:
    rows = [
        (A, "5.1.1", f"550 5.1.1 <{A}>... User Unknown"),
        (C, "5.2.2", f"552 5.2.2 <{C}>... Mailbox full"),
    ]
    assert family_and_outcomes(nu.x5(rows)) == (
        "x5",
        [(A, "userunknown", True), (C, "mailboxfull", False)],
    )


def test_x6_reads_each_error_line_and_its_folded_reply() -> None:
    errors = [
        f"SMTP Server <mx.dest.example> rejected recipient <{A}> (Error following RCPT "
        "command). It responded as follows: [550 5.1.1 User unknown]",
        f"SMTP Server <mx.dest.example> rejected recipient <{B}>\n"
        "  (Error following RCPT command). It responded as follows: [552 5.2.2 Mailbox full]",
        f"The following recipients returned permanent errors: {C}. Reason: SMTP Server "
        "<192.0.2.7> refused to accept your message (DATA), with the following error "
        "message: [554 5.4.6 Hop count exceeded - possible mail loop]",
    ]
    assert family_and_outcomes(nu.x6(errors)) == (
        "x6",
        [(A, "userunknown", True), (B, "mailboxfull", False), (C, "networkerror", False)],
    )


def test_v5_each_recipient_after_the_host_is_named() -> None:
    transcript = (
        "While talking to mx.dest.example:\n"
        f">>> RCPT To:<{A}>\n<<< 550 <{A}>... User unknown\n550 <{A}>... User unknown\n"
        f">>> RCPT To:<{B}>\n<<< 552 <{B}>... Mailbox full\n552 <{B}>... Mailbox full\n"
        "While talking to mx.other.example:\n"
        f">>> RCPT To:<{C}>\n<<< 550 Requested User Mailbox not found. No such user here.\n"
        f"550 <{C}>... User unknown"
    )
    assert family_and_outcomes(nu.v5(transcript)) == (
        "v5sendmail",
        [(A, "userunknown", True), (B, "mailboxfull", False), (C, "userunknown", True)],
    )


def test_v5_refusal_of_the_sender_is_not_a_recipient() -> None:
    transcript = (
        "While talking to mx.dest.example:\n>>> MAIL From:<news@mailcast.example>\n"
        "<<< 550 Insecure Mail Relay\n"
        f"554 <{A}>... Remote protocol error"
    )
    assert family_and_outcomes(nu.v5(transcript))[1] == [(A, "norelaying", False)]


def test_v5_verdicts_before_any_host_are_read_one_by_one() -> None:
    # No host named: the sendmail family reads each verdict (sisimai names the first only).
    transcript = f"550 <{A}>... User unknown\n550 <{B}>... User unknown"
    assert family_and_outcomes(nu.v5(transcript, collected=False)) == (
        "sendmail",
        [(A, "filtered", False), (B, "filtered", False)],
    )


def test_v5_deferral_naming_no_one_is_the_returned_recipients() -> None:
    transcript = (
        "421 dest.example (smtp)... Deferred: Connection timed out during user open with "
        "dest.example"
    )
    assert family_and_outcomes(nu.v5(transcript, to=B)) == ("v5sendmail", [(B, "expired", False)])
