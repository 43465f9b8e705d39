"""sisimai's smaller families: each layout read, every recipient found, reason and hard/soft.

The expected reasons are sisimai's: where a layout names no SMTP step, a user-unknown phrase
with no 5.1.1 status is a filter's refusal (soft), as sisimai's Reason::Filtered reads it.
"""

from __future__ import annotations

import notices as n
import notices_more as m
import notices_more_families as f
import pytest
from notices import Failure
from reading import expected, family_and_outcomes, outcomes

from mailcast.feedback.parse import parse_report

A, B, C = "alice@dest.example", "bob@dest.example", "carol@other.example"
D = "dave@dest4.example"


def _no_step(failure: Failure, reason: str) -> Failure:
    """The same reply in a layout that names no step: what sisimai concludes then."""
    return Failure(failure.address, "", failure.reply, reason, failure.status)


# Families with a reader of their own ---------------------------------------------------------


def test_activehunter_reads_each_recipient_and_its_reply() -> None:
    failures = [
        m.own(A, "550 sorry, no mailbox here by that name (#5.1.1 - chkusr)", "userunknown"),
        _no_step(n.unknown_at_rcpt(B, 2), "filtered"),
        n.mailbox_full(C),
    ]
    assert family_and_outcomes(f.activehunter(failures)) == ("activehunter", expected(failures))


@pytest.mark.parametrize("with_status", [False, True])
def test_domino_own_messages_name_the_cause(with_status: bool) -> None:
    failures = [
        m.own(A, "User alice (alice@dest.example) not listed in Domino Directory", "userunknown"),
        m.own(B, "Cannot route mail to user (bob@dest.example).", "filtered"),
        m.own(C, "Several matches found in Domino Directory.", "systemerror"),
        m.own(D, "not listed in public Name & Address Book", "userunknown"),
    ]
    assert family_and_outcomes(f.domino(failures, with_status=with_status)) == (
        "domino",
        expected(failures),
    )


@pytest.mark.parametrize("wording", [0, 1])
def test_google_workspace_without_status_fields(wording: int) -> None:
    # Google's own "address couldn't be found" names the cause whatever the remote reply.
    failure = n.unknown_at_rcpt(A, wording + 2)
    assert family_and_outcomes(f.gsuite(failure, with_status=False)) == (
        "google_workspace",
        [(A, "userunknown", True)],
    )


def test_google_workspace_with_status_fields_reads_them() -> None:
    assert outcomes(f.gsuite(n.unknown_at_rcpt(A, 1))) == [(A, "userunknown", True)]


@pytest.mark.parametrize("intro", range(3))
def test_x4_qmail_clone_names_the_step_in_qmail_words(intro: int) -> None:
    failures = [
        n.unknown_at_rcpt(A, 2),
        n.mailbox_full(B),
        m.own(C, "Sorry, I couldn't find any host named other.example. (#5.1.2)", "hostunknown"),
        n.unknown_after_data(D, 1),
    ]
    assert family_and_outcomes(f.x4(failures, intro)) == ("qmail", expected(failures))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("disk quota exceeded", "mailboxfull"),
        ("Message size exceeds fixed maximum message size: 10485760 bytes", "mesgtoobig"),
        ("Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)", "networkerror"),
        ("I'm not going to try again; this message has been in the queue too long.", "expired"),
    ],
)
def test_x4_own_messages(text: str, reason: str) -> None:
    failures = [m.own(A, text, reason), n.unknown_at_rcpt(B, 1)]
    assert outcomes(f.x4(failures)) == expected(failures)


def test_an_x2_notice_stays_x2_when_its_sender_is_a_mailer_daemon() -> None:
    # The same sentence from a MAILER-DAEMON@ is sisimai's X2, which names no step.
    raw = f.x4([n.unknown_at_rcpt(A, 2)]).replace(
        b"From: Mail Delivery Agent <postmaster@", b"From: MAILER-DAEMON@mx.example <mailer-daemon@"
    )
    assert outcomes(raw) == [(A, "filtered", False)]


# Families read by an existing reader or the generic one ----------------------------------------


def test_bigfoot_transcript_step_and_status_fields() -> None:
    failures = [n.unknown_at_rcpt(A, 3), n.mailbox_full(B), n.unknown_at_rcpt(C, 1)]
    assert outcomes(f.bigfoot(failures)) == expected(failures)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The number of messages in recipient's mailbox exceeded the local limit.", "mailboxfull"),
        ("Mail Delivery Failed... User unknown", "filtered"),
    ],
)
def test_biglobe_own_messages(text: str, reason: str) -> None:
    assert outcomes(f.biglobe(A, text)) == [(A, reason, False)]


def test_einsundeins_reasons_and_remote_replies() -> None:
    failures = [
        m.own(
            A,
            "Mail size limit exceeded. For explanation visit\nhttp://postmaster.example/",
            "mesgtoobig",
        ),
        n.unknown_at_rcpt(B, 1),
    ]
    assert outcomes(f.einsundeins(failures)) == expected(failures)


def test_gmx_remote_replies_and_its_own_reason() -> None:
    failures = [
        n.unknown_at_rcpt(A, 1),
        m.own(B, "delivery retry timeout exceeded", "expired"),
        n.mailbox_full(C),
        n.unknown_at_rcpt(D, 2),
    ]
    assert outcomes(f.gmx(failures)) == expected(failures)


def test_mailfoundry_names_no_step() -> None:
    failures = [
        _no_step(n.unknown_at_rcpt(A, 2), "filtered"),
        n.mailbox_full(B),
        n.unknown_at_rcpt(C, 1),
    ]
    assert outcomes(f.mailfoundry(failures)) == expected(failures)


def test_surfcontrol_reads_each_addressed_to_block() -> None:
    failures = [
        n.unknown_at_rcpt(A, 1),
        _no_step(n.unknown_at_rcpt(B, 2), "filtered"),
        n.mailbox_full(C),
    ]
    assert outcomes(f.surfcontrol(failures)) == expected(failures)


def test_mxlogic_exim_layout_and_its_own_messages() -> None:
    failures = [
        n.unknown_at_rcpt(A, 1),
        n.mailbox_full(B),
        m.own(C, "Unrouteable address", "hostunknown"),
    ]
    assert outcomes(f.mxlogic(failures)) == expected(failures)


def test_messagelabs_status_fields() -> None:
    failures = [n.unknown_at_rcpt(A, 1), n.mailbox_full(B)]
    assert outcomes(f.messagelabs(failures)) == expected(failures)


def test_facebook_response_codes() -> None:
    failures = [
        Failure(
            A,
            "RCPT",
            "550 5.1.1 RCP-P1 http://postmaster.facebook.com/response_codes",
            "userunknown",
            "5.1.1",
        ),
        Failure(
            B,
            "RCPT",
            "550 5.1.1 RCP-P2 http://postmaster.facebook.com/response_codes",
            "filtered",
            "5.1.1",
        ),
    ]
    assert outcomes(f.facebook(failures)) == expected(failures)


def test_barracuda_status_fields() -> None:
    failures = [n.spam_refused(A), n.spam_refused(B)]
    assert outcomes(f.barracuda(failures)) == expected(failures)


def test_interscan_sent_and_received_lines() -> None:
    failures = [n.unknown_at_rcpt(A, 2), n.mailbox_full(B)]
    assert family_and_outcomes(f.interscan(failures)) == ("trendmicro", expected(failures))


def test_amavis_status_fields() -> None:
    failures = [n.spam_refused(A), n.unknown_at_rcpt(B, 1)]
    assert outcomes(f.amavis(failures)) == expected(failures)


@pytest.mark.parametrize("bracketed", [True, False])
def test_smail_deutsche_telekom(bracketed: bool) -> None:
    failures = [n.mailbox_full(A), n.unknown_at_rcpt(B, 1)]
    assert outcomes(f.smail(failures, bracketed=bracketed)) == expected(failures)


def test_aol_own_dns_message() -> None:
    failures = [
        m.own(
            A,
            "smtp; Host or domain name not found. Name service error for name=other.example",
            "hostunknown",
        ),
        n.mailbox_full(B),
    ]
    assert outcomes(f.aol(failures)) == expected(failures)


def test_sendgrid_step_after_the_reply() -> None:
    failures = [n.unknown_at_rcpt(A, 2), n.mailbox_full(B)]
    assert outcomes(f.sendgrid(failures)) == expected(failures)


def test_mimecast_dashed_lines() -> None:
    failures = [n.unknown_at_rcpt(A, 0), n.mailbox_full(B)]
    assert outcomes(f.mimecast(failures)) == expected(failures)


# RFC 3834 automatic replies ------------------------------------------------------------------


def _reply(headers: str) -> bytes:
    return (
        (f"From: Alice <{A}>\n{headers}\nI am away until Monday and will read your message then.\n")
        .replace("\n", "\r\n")
        .encode()
    )


def test_apple_vacation_header_marks_an_autoreply() -> None:
    report = parse_report(
        _reply("To: news@mailcast.example\nSubject: Re: December news\nX-Apple-Action: vacation\n")
    )
    assert (report.kind, [r.address for r in report.recipients]) == ("autoreply", [A])


@pytest.mark.parametrize(
    "headers",
    [
        "Subject: Out of Office: December news\nTo: root@mailcast.example\n",
        "To: news@mailcast.example\nSubject: *** SECURITY information for host ***\n"
        "Auto-Submitted: auto-replied\n",
    ],
)
def test_mail_a_system_sends_itself_is_no_autoreply(headers: str) -> None:
    assert parse_report(_reply(headers)).kind == "not_bounce"


# RFC 3464 fields as sisimai's generic reader takes them ----------------------------------------

_HEADERS = (
    "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example>\n"
    f"To: {n.SENDER}\nSubject: Delivery Status Notification (Failure)\n"
)


def test_x_actual_recipient_alone_names_the_recipient() -> None:
    status = (
        "Reporting-MTA: dns; relay.example\n\nX-Actual-Recipient: rfc822; alice@dest.example\n"
        "Action: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 mailbox full\n"
    )
    raw = n._report("Delivery failed.", status, "list@dest.example", _HEADERS)
    assert outcomes(raw) == [(A, "mailboxfull", False)]


def test_a_status_comment_is_read_as_the_cause() -> None:
    status = (
        "Reporting-MTA: dns; relay.example\n\nFinal-Recipient: rfc822; alice@dest.example\n"
        "Action: failed\nStatus: 4.0.0 (other.example: host name lookup failure)\n"
    )
    raw = n._report("Delivery failed.", status, A, _HEADERS)
    assert outcomes(raw) == [(A, "networkerror", False)]
