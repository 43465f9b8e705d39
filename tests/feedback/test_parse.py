"""The bounce parser on each format it reads: who bounced, how, why, and what it points back to."""

from __future__ import annotations

import pytest
from dsn_samples import (
    RETURNED_ID,
    arf_report,
    auto_reply,
    exchange2003_notice,
    exchange_ndr,
    exim_notice,
    global_dsn,
    gmail_notice,
    multipart_report,
    plain_notice,
    postfix_dsn,
    qmail_notice,
    returned_headers,
    sendmail_dsn,
    yahoo_notice,
)

from mailcast.domain import FailureReason, FailureType
from mailcast.feedback import dsn
from mailcast.feedback.parse import RecipientResult, Report, parse_report

HARD, SOFT, IGNORED = FailureType.HARD, FailureType.SOFT, FailureType.IGNORED


def only(report: Report) -> RecipientResult:
    assert len(report.recipients) == 1, report.recipients
    return report.recipients[0]


def expect(
    got: RecipientResult,
    address: str,
    action: str,
    status: str,
    reason: str,
    failure_type: FailureType | None,
    failure_reason: FailureReason | None,
) -> None:
    assert (
        got.address,
        got.action,
        got.status,
        got.reason,
        got.failure_type,
        got.failure_reason,
    ) == (address, action, status, reason, failure_type, failure_reason)


# --- RFC 3464 / RFC 6522 reports ------------------------------------------------------------


def test_postfix_dsn_user_unknown_is_a_hard_bounce() -> None:
    report = parse_report(postfix_dsn("alice@example.org"))
    assert report.kind == "dsn"
    expect(
        only(report),
        "alice@example.org",
        "failed",
        "5.1.1",
        "userunknown",
        HARD,
        FailureReason.USER_UNKNOWN,
    )
    assert "User unknown" in only(report).diagnostic


def test_postfix_dsn_mailbox_full_is_soft() -> None:
    raw = postfix_dsn(
        "alice@example.org",
        status="4.2.2",
        diagnostic="452 4.2.2 <alice@example.org>: Mailbox full",
    )
    expect(
        only(parse_report(raw)),
        "alice@example.org",
        "failed",
        "4.2.2",
        "mailboxfull",
        SOFT,
        FailureReason.MAILBOX_FULL,
    )


def test_postfix_delay_dsn_is_delayed_and_soft() -> None:
    said = "connect to mx.example.org[192.0.2.10]:25: Connection timed out"
    raw = postfix_dsn(
        "alice@example.org", action="delayed", status="4.4.1", diagnostic=said, said=said
    )
    expect(
        only(parse_report(raw)),
        "alice@example.org",
        "delayed",
        "4.4.1",
        "expired",
        SOFT,
        FailureReason.UNREACHABLE,
    )


def test_success_dsn_is_delivered_with_no_failure() -> None:
    raw = postfix_dsn(
        "alice@example.org",
        action="delivered",
        status="2.0.0",
        diagnostic="250 2.0.0 Ok: queued as 4Zx",
    )
    expect(
        only(parse_report(raw)), "alice@example.org", "delivered", "2.0.0", "delivered", None, None
    )


def test_each_recipient_of_a_report_is_classified_on_its_own() -> None:
    fields = (
        "Reporting-MTA: dns; mx.relay.example\n\n"
        "Final-Recipient: rfc822; one@example.org\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 No such user\n\n"
        "Final-Recipient: rfc822; two@example.net\nAction: failed\nStatus: 5.2.2\n"
        "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n\n"
        "Final-Recipient: rfc822; three@example.com\nAction: delivered\nStatus: 2.0.0\n"
    )
    raw = multipart_report("Delivery report.", fields, returned_headers("list@example.org"))
    got = [(r.address, r.reason, r.failure_type) for r in parse_report(raw).recipients]
    assert got == [
        ("one@example.org", "userunknown", HARD),
        ("two@example.net", "mailboxfull", SOFT),
        ("three@example.com", "delivered", None),
    ]


def test_original_recipient_is_kept_next_to_the_final_one() -> None:
    fields = (
        "Final-Recipient: rfc822; mailbox@hosting.example\n"
        "Original-Recipient: rfc822; alias@example.org\n"
        "Action: failed\nStatus: 5.1.1\n"
    )
    got = only(parse_report(multipart_report("", fields, returned_headers("alias@example.org"))))
    assert (got.address, got.original_recipient) == ("mailbox@hosting.example", "alias@example.org")


def test_global_delivery_status_reads_utf8_addresses() -> None:
    raw = global_dsn("jörg@bücher.example", "5.2.2", "552 5.2.2 Mailbox full")
    report = parse_report(raw)
    assert report.kind == "dsn"
    expect(
        only(report),
        "jörg@bücher.example",
        "failed",
        "5.2.2",
        "mailboxfull",
        SOFT,
        FailureReason.MAILBOX_FULL,
    )


def test_sendmail_spam_refusal_is_soft_and_refused() -> None:
    raw = sendmail_dsn(
        "carol@example.org", "554 5.7.1 Message rejected: spam content detected", "5.7.1"
    )
    expect(
        only(parse_report(raw)),
        "carol@example.org",
        "failed",
        "5.7.1",
        "spamdetected",
        SOFT,
        FailureReason.REFUSED,
    )


def test_exchange_ndr_recipient_not_found_is_user_unknown() -> None:
    diagnostic = "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP lookup"
    expect(
        only(parse_report(exchange_ndr("erin@example.org", diagnostic, "5.1.10"))),
        "erin@example.org",
        "failed",
        "5.1.10",
        "userunknown",
        HARD,
        FailureReason.USER_UNKNOWN,
    )


# --- plain-text notices (no status fields) ----------------------------------------------------


def test_exim_notice_names_the_recipient_and_the_remote_reply() -> None:
    raw = exim_notice("bob@example.org", "550 5.2.2 <bob@example.org>: mailbox is full")
    report = parse_report(raw)
    assert report.kind == "dsn"
    expect(
        only(report),
        "bob@example.org",
        "failed",
        "5.2.2",
        "mailboxfull",
        SOFT,
        FailureReason.MAILBOX_FULL,
    )


def test_exim_refusal_at_mail_from_is_about_the_sender() -> None:
    raw = exim_notice(
        "bob@example.org",
        "553 5.1.0 sender.example does not exist",
        step="MAIL FROM:<news@sender.example> SIZE=1022",
    )
    expect(
        only(parse_report(raw)),
        "bob@example.org",
        "failed",
        "5.1.0",
        "rejected",
        SOFT,
        FailureReason.REFUSED,
    )


def test_qmail_notice_no_mailbox_here() -> None:
    raw = qmail_notice("dave@example.org", "Sorry, no mailbox here by that name. (#5.1.1)")
    expect(
        only(parse_report(raw)),
        "dave@example.org",
        "failed",
        "5.1.1",
        "userunknown",
        HARD,
        FailureReason.USER_UNKNOWN,
    )


def test_qmail_remote_refusal_after_data_blames_the_content() -> None:
    said = (
        "192.0.2.20 failed after I sent the message.\n"
        "Remote host said: 554 5.7.1 This message has been blocked because it contains a virus"
    )
    expect(
        only(parse_report(qmail_notice("dave@example.org", said))),
        "dave@example.org",
        "failed",
        "5.7.1",
        "virusdetected",
        SOFT,
        FailureReason.REFUSED,
    )


def test_exchange_2003_code_states_the_cause() -> None:
    raw = exchange2003_notice("frank@example.org", "000C05A6", "The message could not be sent")
    report = parse_report(raw)
    assert report.kind == "dsn"
    got = only(report)
    assert (got.address, got.reason, got.failure_type) == ("frank@example.org", "userunknown", HARD)


def test_gmail_notice_over_quota() -> None:
    reply = "550 5.2.2 The email account that you tried to reach is over quota."
    expect(
        only(parse_report(gmail_notice("grace@example.org", reply))),
        "grace@example.org",
        "failed",
        "5.2.2",
        "mailboxfull",
        SOFT,
        FailureReason.MAILBOX_FULL,
    )


def test_gmail_notice_disabled_account() -> None:
    reply = "550 5.2.1 The email account that you tried to reach is disabled."
    expect(
        only(parse_report(gmail_notice("grace@example.org", reply))),
        "grace@example.org",
        "failed",
        "5.2.1",
        "suspend",
        SOFT,
        FailureReason.ACCOUNT_DISABLED,
    )


def test_yahoo_notice_without_status_code() -> None:
    said = (
        "554 delivery error: dd This user doesn't have a example.org account "
        "(heidi@example.org) [-5] - mta1.example.org"
    )
    expect(
        only(parse_report(yahoo_notice("heidi@example.org", said))),
        "heidi@example.org",
        "failed",
        "",
        "userunknown",
        HARD,
        FailureReason.USER_UNKNOWN,
    )


def test_a_delay_warning_without_status_fields_is_delayed() -> None:
    body = (
        "This is an automatically generated Delivery Status Notification\n\n"
        "THIS IS A WARNING MESSAGE ONLY.\n\nYOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n"
        "Delivery to the following recipient has been delayed:\n\n     kim@example.org\n\n"
        "Message will be retried for 2 more day(s)\n"
    )
    raw = plain_notice(body, subject="Delivery Status Notification (Delay)")
    got = only(parse_report(raw))
    assert (got.address, got.action, got.reason, got.failure_type) == (
        "kim@example.org",
        "delayed",
        "expired",
        SOFT,
    )


# --- complaints and auto-replies -------------------------------------------------------------


def test_arf_complaint_names_the_complaining_recipient() -> None:
    report = parse_report(arf_report("ivan@example.org"))
    assert report.kind == "arf"
    got = only(report)
    expect(got, "ivan@example.org", "", "", "feedback", IGNORED, FailureReason.ERROR_IGNORED)
    assert got.feedback_type == "abuse"


def test_rfc3834_auto_reply_is_ignored() -> None:
    report = parse_report(auto_reply("judy@example.org"))
    assert report.kind == "autoreply"
    expect(
        only(report), "judy@example.org", "", "", "vacation", IGNORED, FailureReason.ERROR_IGNORED
    )


def test_ordinary_mail_is_not_a_bounce() -> None:
    raw = (
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: lunch?\r\n\r\nNoon at the usual.\r\n"
    )
    assert parse_report(raw) == Report(kind="not_bounce")


def test_a_bounce_naming_no_recipient_is_unknown() -> None:
    body = "This message was created automatically by mail delivery software.\n\nIt failed.\n"
    report = parse_report(plain_notice(body, subject="Mail delivery failed"))
    assert (report.kind, report.recipients) == ("unknown", [])


# --- correlation hints ------------------------------------------------------------------------


def test_hints_come_from_the_returned_headers_and_the_envelope_id() -> None:
    fields = (
        "Original-Envelope-Id: t1.abc\nReporting-MTA: dns; mx.relay.example\n\n"
        "Final-Recipient: rfc822; alice@example.org\nAction: failed\nStatus: 5.1.1\n"
    )
    report = parse_report(multipart_report("", fields, returned_headers("alice@example.org")))
    assert (report.envid, report.message_id, report.original_to) == (
        "t1.abc",
        RETURNED_ID,
        "alice@example.org",
    )
    assert report.mailcast_headers == {"x-mailcast-delivery": "7"}


def test_hints_are_found_in_a_copy_pasted_into_the_notice() -> None:
    report = parse_report(exim_notice("bob@example.org", "550 5.1.1 unknown user"))
    assert (report.message_id, report.original_to) == (RETURNED_ID, "bob@example.org")


def test_a_lone_cr_ends_a_status_field_as_it_ends_a_line() -> None:
    """A CRLF cut to CR (a truncated notice) must not run the address into the next field."""
    fields = dsn.parse(
        "Final-Recipient: utf-8; j\u00f6rg@b\u00fccher.example\rAction: failed\r\nStatus: 5.1.1\r\n"
    )
    found = [(r.address, r.action, r.status) for r in fields.recipients]
    assert found == [("j\u00f6rg@b\u00fccher.example", "failed", "5.1.1")]


@pytest.mark.parametrize(
    ("notice", "reason", "hard"),
    [
        # The notice names the step once, for every recipient (sisimai's RFC 3464 reader).
        ("The remote server refused them (in reply to RCPT TO command).", "userunknown", True),
        ("The remote server refused them after the end of data.", "filtered", False),
        # No step named: "no such user" without X.1.1 may be a filter's excuse.
        ("The remote server refused them.", "filtered", False),
    ],
)
def test_the_step_a_generic_notice_names_holds_for_each_recipient(
    notice: str, reason: str, hard: bool
) -> None:
    recipients = ["ana@dest.example", "ben@dest.example"]
    status = "Reporting-MTA: dns; gw.relay.example\n\n" + "\n".join(
        f"Final-Recipient: rfc822; {r}\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: smtp; 550 No such user here\n"
        for r in recipients
    )
    raw = multipart_report(
        f"Your message could not be delivered to these recipients.\n{notice}\n",
        status,
        returned_headers(recipients[0]),
        subject="Delivery failure",
        sender="Gateway <gw@relay.example>",
    )
    report = parse_report(raw)
    assert report.family == ""  # no family's reader: the generic reading decides
    assert [(r.address, r.reason, r.hard) for r in report.recipients] == [
        (r, reason, hard) for r in recipients
    ]
