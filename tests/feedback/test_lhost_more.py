"""Families added after test_lhost: each detected, every recipient found, reason, hard/soft."""

from __future__ import annotations

import notices as n
import notices_more as m
import pytest
from reading import expected, family_and_outcomes

A, B, C = "alice@dest.example", "bob@dest.example", "carol@other.example"
D, E = "dave@dest4.example", "erin@dest5.example"


@pytest.mark.parametrize("wording", range(2))  # the wordings with a 5.1.1 status
@pytest.mark.parametrize("delayed", [False, True])
def test_opensmtpd_replies_and_its_own_messages(wording: int, delayed: bool) -> None:
    failures = [
        n.unknown_at_rcpt(A, wording),
        m.own(B, "Domain does not exist", "hostunknown"),
        m.own(C, "Network error on destination MXs", "networkerror"),
        m.own(D, "Envelope expired", "expired"),
        n.mailbox_full(E),
    ]
    assert family_and_outcomes(m.opensmtpd(failures, delayed=delayed)) == (
        "opensmtpd",
        expected(failures),
    )


@pytest.mark.parametrize("wording", [2, 3])
def test_opensmtpd_unknown_user_without_step_or_code_is_filtered(wording: int) -> None:
    # OpenSMTPD quotes the reply alone: with neither the step nor an X.1.X status, sisimai's
    # rule reads "no such user" as a filter's refusal (soft), not as a bad address.
    raw = m.opensmtpd([n.unknown_at_rcpt(A, wording), n.mailbox_full(B)])
    assert family_and_outcomes(raw) == (
        "opensmtpd",
        [(A, "filtered", False), (B, "mailboxfull", False)],
    )


def test_opensmtpd_no_mx_is_a_domain_that_takes_no_mail() -> None:
    raw = m.opensmtpd([m.own(A, "No MX found for domain", "notaccept"), n.mailbox_full(B)])
    assert family_and_outcomes(raw) == (
        "opensmtpd",
        [(A, "notaccept", True), (B, "mailboxfull", False)],
    )


@pytest.mark.parametrize("wording", range(3))
@pytest.mark.parametrize("split", [False, True])
def test_yahoo_reads_the_step_token_of_each_recipient(wording: int, split: bool) -> None:
    failures = [
        n.unknown_at_rcpt(A, wording),
        n.unknown_after_data(B, wording),
        n.mailbox_full(C),
        n.sender_refused(D),
    ]
    assert family_and_outcomes(m.yahoo(failures, split=split)) == ("yahoo", expected(failures))


def test_yahoo_own_message_no_mx_record() -> None:
    raw = m.yahoo([m.own(A, "No mx record found for domain=dest.example", "notaccept")])
    assert family_and_outcomes(raw) == ("yahoo", [(A, "notaccept", True)])


@pytest.mark.parametrize("wording", range(3))
def test_dragonfly_names_the_step_it_failed_at(wording: int) -> None:
    failures = [
        n.unknown_at_rcpt(A, wording),
        n.unknown_after_data(B, wording),
        n.mailbox_full(C),
        m.own(D, "DNS lookup failure: host dest4.example not found", "hostunknown"),
        m.own(E, "Could not deliver for the last 432000 seconds. Giving up.", "expired"),
    ]
    assert family_and_outcomes(m.dragonfly(failures)) == ("dragonfly", expected(failures))


@pytest.mark.parametrize("wording", range(3))
def test_courier_sessions_and_its_own_messages(wording: int) -> None:
    failures = [
        n.unknown_at_rcpt(A, wording),
        n.unknown_after_data(B, wording),
        m.own(C, "No such domain.", "hostunknown"),
        m.own(D, "DNS lookup failed.", "networkerror"),
        n.sender_refused(E),
    ]
    assert family_and_outcomes(m.courier(failures)) == ("courier", expected(failures))


def test_powermta_bounce_categories_and_status_comments() -> None:
    failures = [
        n.Failure(A, "", f"550 5.1.1 <{A}>... User unknown", "userunknown", "5.1.1"),
        n.Failure(B, "", f"550 5.2.1 <{B}>... User Unknown", "suspend", "5.2.1"),
        n.Failure(C, "", "552 5.2.2 Over quota", "mailboxfull", "5.2.2"),
        n.Failure(D, "", "550 5.0.0 refused", "policyviolation", "5.0.0"),
    ]
    categories = ["bad-mailbox", "bad-mailbox", "quota-issues", "policy-related"]
    comments = [
        "bad destination mailbox address",
        "mailbox disabled, not accepting messages",
        "mailbox full",
        "undefined status",
    ]
    raw = m.powermta(failures, categories, comments)
    assert family_and_outcomes(raw) == ("powermta", expected(failures))


@pytest.mark.parametrize("wording", range(2))
def test_messaging_server_lists_each_recipient_address(wording: int) -> None:
    failures = [
        n.unknown_at_rcpt(A, wording),
        n.Failure(B, "", f"550 5.2.1 <{B}>... User Unknown", "filtered", "5.2.1"),
        n.mailbox_full(C),
    ]
    assert family_and_outcomes(m.messagingserver(failures)) == (
        "messagingserver",
        expected(failures),
    )


def test_notes_reasons_stand_above_their_addresses() -> None:
    failures = [
        m.own(A, "User not listed in public Name & Address Book", "userunknown"),
        m.own(B, "Message has exceeded maximum hop count", "networkerror"),
        m.own(C, "Recipient's mailbox is full", "mailboxfull"),
    ]
    assert family_and_outcomes(m.notes(failures)) == ("notes", expected(failures))


def test_imail_server_causes_and_remote_replies() -> None:
    failures = [
        m.own(A, "Unknown user", "userunknown"),
        m.own(B, "User mailbox exceeds allowed size", "mailboxfull"),
        m.own(C, "Unknown host", "hostunknown"),
        n.Failure(D, "DATA", "550 5.7.1 Message rejected as spam", "spamdetected", "5.7.1"),
    ]
    assert family_and_outcomes(m.imailserver(failures)) == ("imailserver", expected(failures))


@pytest.mark.parametrize("wording", range(4))
def test_ezweb_sessions_refused_at_rcpt_to(wording: int) -> None:
    failures = [n.unknown_at_rcpt(A, wording), n.unknown_at_rcpt(B, wording + 1)]
    assert family_and_outcomes(m.ezweb(failures)) == ("ezweb", expected(failures))


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("The user(s) account is disabled.", "suspend"),
        ("The user(s) account is temporarily over quota.", "mailboxfull"),
        (
            "Your message was not delivered within 0 days and 1 hours.\n"
            "Remote host is not responding.",
            "expired",
        ),
    ],
)
def test_ezweb_fixed_sentences_name_the_cause_for_every_recipient(
    sentence: str, reason: str
) -> None:
    failures = [m.own(A, "", reason), m.own(B, "", reason)]
    assert family_and_outcomes(m.ezweb(failures, sentence=sentence)) == (
        "ezweb",
        expected(failures),
    )


@pytest.mark.parametrize("wording", range(4))
def test_trendmicro_sent_and_received_lines(wording: int) -> None:
    failures = [n.unknown_at_rcpt(A, wording), n.unknown_at_rcpt(B, wording), n.mailbox_full(C)]
    assert family_and_outcomes(m.trendmicro(failures)) == ("trendmicro", expected(failures))


def test_exchange_2003_msexch_codes_name_the_cause() -> None:
    failures = [
        m.own(A, "The recipient name is not recognized", "userunknown"),
        m.own(B, "Too many hops", "networkerror"),
        m.own(C, "Ambiguous Recipient", "filtered"),
    ]
    raw = m.exchange2003(failures, ["000C05A6", "00120270", "000C0595"])
    assert family_and_outcomes(raw) == ("exchange2003", expected(failures))


def test_google_groups_reports_every_refusing_group() -> None:
    groups = ["news@googlegroups.com", "team@googlegroups.com"]
    family, outcomes = family_and_outcomes(m.googlegroups(groups))
    assert family == "googlegroups"
    assert outcomes == [(groups[0], "rejected", False), (groups[1], "rejected", False)]


@pytest.mark.parametrize("wording", range(2))
def test_office365_lists_each_recipient_with_its_mailto(wording: int) -> None:
    failures = [
        n.Failure(
            A, "", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found", "userunknown", "5.1.10"
        ),
        n.unknown_at_rcpt(B, wording),
        n.Failure(C, "", "550 5.7.509 Access denied, sending domain does not pass", "authfailure"),
    ]
    assert family_and_outcomes(m.office365(failures)) == ("office365", expected(failures))


def test_kddi_sentences_name_the_cause() -> None:
    failures = [
        m.own(A, "As their mailbox is full.", "mailboxfull"),
        m.own(B, "As the remote domain doesnt exist.", "hostunknown"),
    ]
    assert family_and_outcomes(m.kddi(failures)) == ("kddi", expected(failures))
    filtered = [m.own(A, "As their mailbox is full.", "filtered")]
    assert family_and_outcomes(m.kddi(filtered, spasign=True)) == ("kddi", expected(filtered))


def test_every_address_of_x_failed_recipients_is_reported() -> None:
    addresses = [A, B, C]
    _, outcomes = family_and_outcomes(m.failed_recipients_only(addresses))
    assert [address for address, _, _ in outcomes] == addresses


def _postfix_own(blocks: list[tuple[str, str]]) -> bytes:
    text = "\n\n".join(f"<{address}>: {said}" for address, said in blocks)
    body = (
        "This is the mail system at host relay.mailcast.example.\n\n"
        f"                   The mail system\n\n{text}\n\n"
        "--- original message follows ---\n\n" + n.returned(A)
    )
    headers = (
        "From: MAILER-DAEMON@relay.mailcast.example (Mail Delivery System)\n"
        f"To: {n.SENDER}\nSubject: Undelivered Mail Returned to Sender\n"
    )
    return n._mail(headers, body)


def test_postfix_own_messages_name_their_cause() -> None:
    raw = _postfix_own(
        [
            (A, "connect to mx.dest.example[192.0.2.2]:25: No route to host"),
            (
                B,
                "Host or domain name not found. Name service error for name=dest.example"
                " type=MX: Host not found",
            ),
            (C, "connect to mx.other.example[192.0.2.3]:25: Connection timed out"),
            (D, "lost connection with mx.dest4.example[192.0.2.4] while sending RCPT TO"),
            (E, "cannot update mailbox /var/mail/erin for user erin. Disk quota exceeded"),
        ]
    )
    assert family_and_outcomes(raw) == (
        "postfix",
        [
            (A, "networkerror", False),
            (B, "hostunknown", True),
            (C, "expired", False),
            (D, "networkerror", False),
            (E, "mailboxfull", False),
        ],
    )


def test_exim_router_and_retry_messages_name_their_cause() -> None:
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {A}\n    all relevant MX records point to non-existent hosts\n"
        f"  {B}\n    retry timeout exceeded\n"
        f"  {C}\n    Unrouteable address\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        + n.returned(A)
    )
    headers = (
        "From: Mail Delivery System <Mailer-Daemon@exim.mailcast.example>\n"
        f"To: {n.SENDER}\nSubject: Mail delivery failed: returning message to sender\n"
    )
    assert family_and_outcomes(n._mail(headers, body)) == (
        "exim",
        [(A, "hostunknown", True), (B, "expired", False), (C, "hostunknown", True)],
    )


def test_sendmail_deferrals_in_its_own_words() -> None:
    body = (
        "   ----- Transcript of session follows -----\n"
        f"<{A}>... Deferred: Connection refused by mx.dest.example.\n"
        f"421 dest.example (smtp)... Deferred: Connection timed out during user open with"
        f" dest.example\n<{B}>... Message could not be delivered for 5 days\n\n"
        "   ----- Unsent message follows -----\n" + n.returned(A)
    )
    headers = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@old.mailcast.example>\n"
        f"To: {n.SENDER}\nSubject: Returned mail: see transcript for details\n"
    )
    assert family_and_outcomes(n._mail(headers, body)) == (
        "sendmail",
        [(A, "blocked", False), (B, "expired", False)],
    )


def test_mailru_lists_its_recipients_twice_and_each_is_reported_once() -> None:
    listed = f"  {A}\n    retry timeout exceeded\n  {B}\n    mailbox is full\n"
    body = (
        "Это письмо создано автоматически сервером Mail.Ru, отвечать на него не нужно.\n\n"
        f"К сожалению, Ваше письмо не может быть доставлено получателям:\n\n{listed}\n"
        "**********************\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        f"recipients. This is a permanent error. The following address(es) failed:\n\n{listed}\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        + n.returned(A)
    )
    headers = (
        "From: mailer-daemon@corp.mail.example\n"
        f"To: {n.SENDER}\nSubject: Mail failure.\nContent-Type: text/plain; charset=utf-8\n"
    )
    raw = (headers + "\n" + body).replace("\n", "\r\n").encode()
    assert family_and_outcomes(raw) == ("exim", [(A, "expired", False), (B, "mailboxfull", False)])


def test_exim_pipe_delivery_is_reported_for_the_address_that_generated_it() -> None:
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  pipe to |/usr/local/bin/autoreply {A}\n    generated by {A}\n"
        f"  {B}\n    mailbox is full\n\n"
        "The following text was generated during the delivery attempt:\n\n"
        f"------ pipe to |/usr/local/bin/autoreply {A}\n       generated by {A} ------\n\n"
        "autoreply: cannot read template\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        + n.returned(A)
    )
    headers = (
        "From: Mail Delivery System <Mailer-Daemon@exim.mailcast.example>\n"
        f"To: {n.SENDER}\nSubject: Mail delivery failed: returning message to sender\n"
    )
    assert family_and_outcomes(n._mail(headers, body)) == (
        "exim",
        [(A, "mailererror", False), (B, "mailboxfull", False)],
    )
