"""Each MTA family's notices, generated with wording variants, several recipients and steps."""

from __future__ import annotations

from collections.abc import Callable

import notices as n
import pytest
from reading import expected, outcomes

from mailcast.feedback.parse import parse_report

A, B, C = "alice@dest.example", "bob@dest.example", "carol@other.example"
Builder = Callable[[list[n.Failure]], bytes]


MTA_BUILDERS: dict[str, Builder] = {
    "postfix": n.postfix,
    "postfix-no-status": lambda f: n.postfix(f, with_status=False),
    "postfix-wrapped": lambda f: n.postfix(f, wrap=True),
    "sendmail": n.sendmail,
    "sendmail-v5": n.sendmail_v5,
    "exim": n.exim,
    "qmail": n.qmail,
    "amazon-ses": n.amazon_ses,
    "amazon-ses-unwrapped": lambda f: n.amazon_ses(f, wrapped=False),
    "x3": n.x3,
}


@pytest.mark.parametrize("wording", range(3))
@pytest.mark.parametrize("name", sorted(MTA_BUILDERS))
def test_every_recipient_is_read_with_the_step_it_failed_at(name: str, wording: int) -> None:
    failures = [
        n.unknown_at_rcpt(A, wording),
        n.unknown_after_data(B, wording),
        n.mailbox_full(C),
    ]
    assert outcomes(MTA_BUILDERS[name](failures)) == expected(failures)


@pytest.mark.parametrize("name", sorted(MTA_BUILDERS))
def test_a_user_unknown_phrase_after_data_is_a_filter_not_a_bad_address(name: str) -> None:
    failures = [n.unknown_after_data(A, w) for w in range(1)]
    (address, reason, hard), *_ = outcomes(MTA_BUILDERS[name](failures))
    assert (address, reason, hard) == (A, "filtered", False)


@pytest.mark.parametrize("name", ["postfix", "sendmail", "exim", "qmail"])
def test_a_refusal_at_mail_from_is_the_senders(name: str) -> None:
    failures = [n.sender_refused(A), n.sender_refused(B)]
    assert outcomes(MTA_BUILDERS[name](failures)) == expected(failures)


@pytest.mark.parametrize("name", ["postfix", "sendmail", "exim", "amazon-ses"])
def test_content_refused_after_data(name: str) -> None:
    failures = [n.spam_refused(A), n.unknown_at_rcpt(B, 1)]
    assert outcomes(MTA_BUILDERS[name](failures)) == expected(failures)


def test_sendmail_v5_lists_many_recipients_in_its_transcript() -> None:
    addresses = [f"user{i}@dest.example" for i in range(6)]
    failures = [n.unknown_at_rcpt(a, 1) for a in addresses]
    report = parse_report(n.sendmail_v5(failures))
    assert (report.kind, report.family) == ("dsn", "v5sendmail")
    assert outcomes(n.sendmail_v5(failures)) == expected(failures)


def test_the_postfix_smtpd_transcript_names_each_rcpt_to() -> None:
    failures = [n.unknown_at_rcpt(A), n.unknown_at_rcpt(B, 1)]
    report = parse_report(n.postfix_smtpd(failures))
    assert report.family == "postfix"
    assert outcomes(n.postfix_smtpd(failures)) == expected(failures)


def test_amazon_ses_complaints_and_deliveries_name_every_recipient() -> None:
    failures = [n.unknown_at_rcpt(A), n.unknown_at_rcpt(B)]
    complaint = parse_report(n.amazon_ses(failures, kind="Complaint"))
    assert complaint.kind == "arf"
    assert [(r.address, r.reason) for r in complaint.recipients] == [
        (A, "feedback"),
        (B, "feedback"),
    ]
    delivery = parse_report(n.amazon_ses(failures, kind="Delivery"))
    assert [(r.address, r.reason) for r in delivery.recipients] == [
        (A, "delivered"),
        (B, "delivered"),
    ]


def test_mfilter_reads_the_server_message_and_the_smtp_command() -> None:
    failures = [n.unknown_after_data(A), n.unknown_at_rcpt(B)]
    report = parse_report(n.mfilter(failures))
    assert report.family == "mfilter"
    assert outcomes(n.mfilter(failures)) == expected(failures)


def test_apache_james_lists_each_rcpt_to_under_the_message_details() -> None:
    failures = [n.unknown_at_rcpt(A, 2), n.unknown_at_rcpt(B, 2)]
    report = parse_report(n.james(failures))
    assert report.family == "james"
    # James names no step: a user-unknown phrase alone is not taken for a bad address.
    assert [(r.address, r.reason) for r in report.recipients] == [(A, "filtered"), (B, "filtered")]


def test_fml_refusals_of_non_members() -> None:
    report = parse_report(n.fml([A, B]))
    assert (report.kind, report.family) == ("dsn", "fml")
    assert [(r.address, r.reason) for r in report.recipients] == [(A, "rejected"), (B, "rejected")]


@pytest.mark.parametrize("builder", [n.x1, n.x2], ids=["x1", "x2"])
def test_unnamed_mtas_list_each_recipient(builder: Builder) -> None:
    failures = [n.unknown_at_rcpt(A, 1), n.mailbox_full(C)]
    assert outcomes(builder(failures)) == expected(failures)


def test_an_arf_report_listing_several_recipients_reports_each() -> None:
    report = parse_report(n.arf([A, B, C]))
    assert report.kind == "arf"
    assert [r.address for r in report.recipients] == [A, B, C]
    assert {r.feedback_type for r in report.recipients} == {"abuse"}


def test_a_notice_with_500_recipients_reports_all_of_them() -> None:
    addresses = [f"user{i}@dest.example" for i in range(500)]
    failures = [n.unknown_at_rcpt(a, 1) for a in addresses]
    report = parse_report(n.exim(failures))
    assert [r.address for r in report.recipients] == addresses
    assert {r.reason for r in report.recipients} == {"userunknown"}


def _dsn(notice: str, status: str, subject: str, to: str = A) -> bytes:
    headers = f"From: MAILER-DAEMON@relay.example\nTo: {n.SENDER}\nSubject: {subject}\n"
    return n._report(notice, f"Reporting-MTA: dns; relay.example\n\n{status}", to, headers)


def test_sendmail_reply_to_data_with_a_vague_status_is_a_filter() -> None:
    notice = (
        "   ----- Transcript of session follows -----\n"
        "... while talking to mx.dest.example.:\n>>> DATA\n"
        f"<<< 550 Unknown user {A}\n554 5.0.0 Service unavailable\n"
    )
    status = f"Final-Recipient: RFC822; {A}\nAction: failed\nStatus: 5.0.0\n"
    raw = _dsn(notice, status, "Returned mail: see transcript for details")
    assert outcomes(raw) == [(A, "filtered", False)]


def test_a_reply_to_the_greeting_is_a_block() -> None:
    notice = (
        "   ----- Transcript of session follows -----\n"
        "... while talking to mx.dest.example.:\n<<< 554 mx.dest.example not accepting mail\n"
        "554 5.0.0 Service unavailable\n"
    )
    status = f"Final-Recipient: RFC822; {A}\nAction: failed\nStatus: 5.0.0\n"
    raw = _dsn(notice, status, "Returned mail: see transcript for details")
    assert outcomes(raw) == [(A, "blocked", False)]


def test_postfix_delay_warning_of_an_expanded_alias() -> None:
    notice = (
        "This is the mail system at host relay.example.\n\n"
        "                   The mail system\n\n"
        f"<{A}> (expanded from <list@relay.example>): connect to\n"
        "    mx.dest.example[192.0.2.3]:25: Connection timed out\n"
    )
    status = (
        f"Final-Recipient: rfc822; {A}\nOriginal-Recipient: rfc822; list@relay.example\n"
        "Action: delayed\nStatus: 4.4.1\n"
        "Diagnostic-Code: X-Postfix; connect to mx.dest.example[192.0.2.3]:25:"
        " Connection timed out\n"
    )
    report = parse_report(_dsn(notice, status, "Delayed Mail (still being retried)"))
    got = report.recipients[0]
    assert (got.address, got.action, got.reason, got.hard) == (A, "delayed", "expired", False)


def test_qmail_own_messages_name_their_cause() -> None:
    body = (
        "Hi. This is the qmail-send program at q.example.\n\n"
        f"<{A}>:\nSorry, I couldn't find any host named dest2.example. (#5.1.2)\n\n"
        f"<{B}>:\nUnable to contact LDAP server. (#4.4.3)I'm not going to try again; this\n"
        "message has been in the queue too long.\n\n"
        "--- Below this line is a copy of the message.\n\n" + n.returned(A)
    )
    raw = n._mail(f"From: MAILER-DAEMON@q.example\nTo: {n.SENDER}\nSubject: failure notice\n", body)
    assert outcomes(raw) == [(A, "hostunknown", True), (B, "systemerror", False)]


@pytest.mark.parametrize(
    ("address", "reply", "reason"),
    [
        (
            "k@gmail.com",
            "550 5.7.26 Unauthenticated email is not accepted due to domain's DMARC policy",
            "authfailure",
        ),
        (
            "k@yahoo.com",
            "554 delivery error: dd This user doesn't have a yahoo.com account",
            "userunknown",
        ),
        ("k@ezweb.ne.jp", "550 : User unknown", "filtered"),
        (
            "k@outlook.com",
            "550 5.7.1 Unfortunately, messages from [192.0.2.9] weren't sent. Please contact"
            " your Internet service provider since part of their network is on our block list"
            " (S3150)",
            "blocked",
        ),
    ],
)
def test_big_receivers_replies_name_their_reason(address: str, reply: str, reason: str) -> None:
    """The receiver's own wording decides, whatever the step (Yahoo refuses at DATA)."""
    failures = [n.Failure(address, "DATA", reply, reason)]
    assert [r.reason for r in parse_report(n.postfix(failures)).recipients] == [reason]


def test_exchange_ndr_codes_name_each_recipients_cause() -> None:
    failures = [
        n.Failure(A, "", "550 5.1.1 not found", "userunknown"),
        n.Failure(B, "", "550 5.2.3 message too large for this recipient", "exceedlimit"),
        n.Failure(C, "", "550 4.4.7 message expired", "expired"),
    ]
    codes = ["RESOLVER.ADR.RecipNotFound", "RESOLVER.RST.RecipSizeLimit", "QUEUE.Expired"]
    report = parse_report(n.exchange(failures, codes=codes))
    assert report.family == "exchange"
    assert outcomes(n.exchange(failures, codes=codes)) == expected(failures)


@pytest.mark.parametrize(
    "failure",
    [n.unknown_at_rcpt(A, 1), n.unknown_after_data(A, 0), n.mailbox_full(A)],
    ids=["unknown-at-rcpt", "unknown-after-data", "mailbox-full"],
)
def test_gmail_state_names_the_step(failure: n.Failure) -> None:
    report = parse_report(n.gmail(failure))
    assert report.family == "gmail"
    assert outcomes(n.gmail(failure)) == expected([failure])


def test_a_saved_mailbox_of_several_notices_reports_every_recipient() -> None:
    """An mbox file (each message after a From_ line) is read message by message."""
    first = n.postfix([n.unknown_at_rcpt(A)])
    second = n.exim([n.mailbox_full(B)])
    mbox = (
        b"From MAILER-DAEMON  Fri Dec  4 10:00:00 2026\r\n"
        + first
        + b"\r\nFrom MAILER-DAEMON  Fri Dec  4 10:05:00 2026\r\n"
        + second
    )
    assert outcomes(mbox) == [(A, "userunknown", True), (B, "mailboxfull", False)]


def test_a_from_line_inside_a_message_received_over_smtp_splits_nothing() -> None:
    raw = (
        n.postfix([n.unknown_at_rcpt(A)]) + b"\r\nFrom MAILER-DAEMON  Fri Dec  4 10:05:00 2026\r\n"
    )
    assert [r.address for r in parse_report(raw).recipients] == [A]


def test_mcafee_lists_each_recipient_with_the_reply() -> None:
    failures = [n.unknown_after_data(A, 1), n.mailbox_full(B)]
    report = parse_report(n.mcafee(failures))
    assert report.family == "mcafee"
    # No step named: "user unknown" without an X.1.1 status is a filter's refusal.
    assert outcomes(n.mcafee(failures)) == expected(failures)


def test_ses_sub_types_that_cover_several_causes_leave_it_to_the_diagnostic() -> None:
    spam = n.spam_refused("a@dest.example")
    raw = n.amazon_ses([spam], bounce_type=("Transient", "ContentRejected"))
    assert outcomes(raw) == [("a@dest.example", "spamdetected", False)]
    unknown = n.unknown_at_rcpt("b@dest.example")
    raw = n.amazon_ses([unknown], bounce_type=("Transient", "AttachmentRejected"))
    assert outcomes(raw) == [("b@dest.example", "userunknown", True)]


def test_ses_sub_types_that_name_one_cause_stand() -> None:
    vague = n.Failure("a@dest.example", "", "452 4.0.0 Try again later", "mailboxfull", "4.0.0")
    raw = n.amazon_ses([vague], bounce_type=("Transient", "MailboxFull"))
    assert outcomes(raw) == [("a@dest.example", "mailboxfull", False)]


def _refused_at_data(reply: str, addresses: list[str]) -> str:
    """A Sendmail transcript: every RCPT TO taken, then one reply refusing the message."""
    lines = [
        "   ----- Transcript of session follows -----",
        "... while talking to mx.dest.example.:",
    ]
    for address in addresses:
        lines += [f">>> RCPT To:<{address}>", f"<<< 250 2.1.5 <{address}>... Recipient ok"]
    lines += [">>> DATA", "<<< 354 Enter mail, end with a single dot", ">>> .", f"<<< {reply}"]
    lines += [f"{reply[:3]} <{address}>... Service unavailable" for address in addresses]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("554 5.7.1 Message rejected as spam by Content Filtering", "spamdetected"),
        ("550 5.0.0 user unknown", "filtered"),
        ("452 4.3.1 Insufficient system storage", "systemfull"),
    ],
)
def test_one_reply_to_data_refuses_every_recipient_sendmail_listed(reply: str, reason: str) -> None:
    addresses = [A, B, C]
    notice = _refused_at_data(reply, addresses)
    v5 = n._mail(
        f"From: Mail Delivery Subsystem <MAILER-DAEMON@old.example>\nTo: {n.SENDER}\n"
        "Subject: Returned mail: Service unavailable\n",
        notice + "\n   ----- Unsent message follows -----\n" + n.returned(A) + "\nHi\n",
    )
    status = "\n".join(
        f"Final-Recipient: RFC822; {a}\nAction: failed\nStatus: 5.0.0\n" for a in addresses
    )
    v8 = _dsn(notice, status, "Returned mail: see transcript for details")
    for raw in (v5, v8):
        read = parse_report(raw).recipients
        assert [(r.address, r.reason) for r in read] == [(a, reason) for a in addresses]
        assert all(reply[4:] in r.diagnostic for r in read)
