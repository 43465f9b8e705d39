"""The classification rules: from what a bounce says to a reason, hard or soft, and ACS reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import corpus_file
from mailcast.domain import FailureReason, FailureType
from mailcast.feedback import classify, providers, smtp
from mailcast.feedback.model import Finding


def reason_of(diagnostic: str = "", status: str = "", **fields: Any) -> str:
    """Classify one recipient the way the extractors hand it over."""
    reply = fields.pop("reply_code", smtp.best_reply(diagnostic))
    command = fields.pop("command", smtp.command(diagnostic))
    finding = Finding(
        diagnostic=diagnostic, status=status, reply_code=reply, command=command, **fields
    )
    return classify.reason(finding)


# --- codes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "diagnostic", "reason"),
    [
        ("5.2.2", "552 5.2.2 Quota exceeded", "mailboxfull"),
        ("4.2.2", "452 4.2.2 Try again later", "mailboxfull"),
        ("5.3.4", "552 5.3.4 Error: message file too big", "mesgtoobig"),
        ("5.7.26", "550 5.7.26 Unauthenticated email is not accepted", "authfailure"),
        (
            "5.7.25",
            "550 5.7.25 The IP address sending this message does not have a PTR",
            "requireptr",
        ),
    ],
)
def test_a_decisive_status_code_names_the_reason(status: str, diagnostic: str, reason: str) -> None:
    assert reason_of(diagnostic, status) == reason


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("5.1.1", "userunknown"),
        ("5.1.2", "hostunknown"),
        ("5.1.6", "hasmoved"),
        ("5.4.4", "hostunknown"),
        ("4.7.1", "blocked"),
        ("5.3.1", "systemfull"),
        ("5.5.2", "syntaxerror"),
        ("5.7.1", "securityerror"),
        ("5.6.9", "contenterror"),
    ],
)
def test_a_status_code_alone_names_its_reason(status: str, reason: str) -> None:
    assert reason_of("", status) == reason


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ("521 This host does not accept mail", "notaccept"),
        ("556 Domain does not accept mail", "notaccept"),
        ("525 User account disabled", "suspend"),
    ],
)
def test_reply_codes_that_name_a_cause(diagnostic: str, reason: str) -> None:
    assert reason_of(diagnostic) == reason


def test_success_is_delivered_whatever_the_words() -> None:
    assert reason_of("250 2.0.0 Ok: queued", "2.0.0", action="delivered") == "delivered"
    assert reason_of("", "", action="relayed") == "delivered"


# --- words --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ("550 5.0.0 <a@example.org>... User unknown (in reply to RCPT TO command)", "userunknown"),
        ("550 5.0.0 No such user here (in reply to RCPT TO command)", "userunknown"),
        ("550 5.0.0 Mailbox is full", "mailboxfull"),
        ("550 5.0.0 Account has been disabled", "suspend"),
        ("550 5.0.0 Relaying denied", "norelaying"),
        ("550 5.0.0 Message rejected as spam by Content Filtering", "spamdetected"),
        ("550 5.0.0 Your message contains a virus", "virusdetected"),
        ("550 5.0.0 Client host rejected: blocked using zen.spamhaus.org", "blocked"),
        ("550 5.0.0 SPF check failed for sender domain", "authfailure"),
        ("550 5.0.0 Host or domain name not found", "hostunknown"),
        ("550 5.0.0 Too many connections from your host", "toomanyconn"),
        ("550 5.0.0 Message rejected due to local policy", "policyviolation"),
    ],
)
def test_the_text_wins_over_a_generic_status(diagnostic: str, reason: str) -> None:
    assert reason_of(diagnostic, "5.0.0") == reason


def test_without_a_code_the_words_decide() -> None:
    assert reason_of("Sorry, no such domain.") == "hostunknown"
    assert reason_of("mailbox exceeds allowed size") == "mailboxfull"


def test_weak_words_only_apply_when_nothing_stronger_was_said() -> None:
    # "timed out" is an expiry, unless a stronger phrase names the cause.
    assert reason_of("Connection timed out") == "expired"
    assert reason_of("Connection timed out; mailbox is full") == "mailboxfull"


# --- the SMTP step ------------------------------------------------------------------------------


def test_unknown_user_answered_at_mail_from_is_a_refused_sender() -> None:
    said = "SMTP error from remote mail server after MAIL FROM:<x@y.example>: 550 unknown user"
    assert reason_of(said) == "rejected"


def test_a_domain_that_does_not_exist_at_mail_from_is_the_senders() -> None:
    said = "SMTP error after MAIL FROM:<news@sender.example>: 553 sender.example does not exist"
    assert reason_of(said, "5.1.0") == "rejected"


def test_unknown_user_said_once_the_content_was_sent_is_a_filter() -> None:
    said = "550 User unknown (in reply to end of DATA command)"
    assert reason_of(said, "5.0.0") == "filtered"
    assert reason_of("550 unknown user", "5.0.0", command="DATA") == "filtered"


def test_a_status_naming_the_mailbox_decides_whatever_the_step() -> None:
    # X.1.1 "bad destination mailbox address" is about the address itself.
    said = "550 5.1.1 User unknown (in reply to end of DATA command)"
    assert reason_of(said, "5.1.1") == "userunknown"


@pytest.mark.parametrize(
    "said",
    [
        "550 5.0.0 <a@example.org>... User unknown",
        "550 No such user here",
        "554 delivery error: this recipient is unknown",
        "Sorry, no mailbox here by that name.",
    ],
)
def test_unknown_user_without_the_step_or_a_mailbox_code_is_a_filter(said: str) -> None:
    # sisimai's rule: "user unknown" blames the address only when said at RCPT TO or with an
    # X.1.X status; said at an unknown step (or after DATA) it is a filter's refusal, soft.
    assert reason_of(said, "5.0.0") == "filtered"
    assert reason_of(said) == "filtered"
    assert reason_of(said, "5.0.0", command="RCPT") == "userunknown"
    assert reason_of(said, "5.1.1") == "userunknown"
    assert not classify.is_hard("filtered", "5.0.0", "550")


def test_a_reason_the_format_states_settles_an_unknown_user_without_the_step() -> None:
    # A format's own bounce category (PowerMTA's "bad-mailbox") names the mailbox.
    assert reason_of("550 No such user here", "5.0.0", stated="userunknown") == "userunknown"


def test_user_unknown_with_an_empty_reply_text_is_a_filter() -> None:
    # Some receivers answer "550 : User unknown" to mail their user's filter refuses.
    assert reason_of("550 : User unknown", "5.0.0") == "filtered"


def test_refused_at_connection_is_blocked() -> None:
    assert reason_of("550 mailbox unavailable", "5.0.0", command="CONN") == "blocked"
    assert reason_of("554 go away", command="CONN") == "blocked"


def test_the_step_alone() -> None:
    assert reason_of("550 sorry", command="MAIL") == "rejected"
    assert reason_of("454 sorry", command="STARTTLS") == "failedstarttls"


def test_a_dns_failure_worth_retrying_is_a_network_error() -> None:
    assert reason_of("Host or domain name not found. Name service error", "4.4.3") == (
        "networkerror"
    )
    assert reason_of("Host or domain name not found", "5.1.2") == "hostunknown"


# --- what is left -------------------------------------------------------------------------------


def test_a_delay_without_words_is_expired() -> None:
    assert reason_of("", "", action="delayed") == "expired"


def test_a_local_program_failure_is_a_mailer_error() -> None:
    assert reason_of("exit code 75", diagnostic_type="x-unix") == "mailererror"


@pytest.mark.parametrize(
    ("status", "diagnostic"),
    [
        (
            "4.3.0",
            "Child process of address_pipe transport returned 75 (could mean temporary error)"
            " from command: /usr/local/bin/filter",
        ),
        (
            "5.3.0",
            "Child process of deliver_pipe transport returned 127 (could mean unable to exec or"
            " command does not exist) from command: /usr/bin/missing",
        ),
    ],
)
def test_exims_failed_pipe_is_a_mailer_error(status: str, diagnostic: str) -> None:
    assert reason_of(diagnostic, status) == "mailererror"


def test_unrecognised_words_are_on_hold_and_nothing_is_undefined() -> None:
    assert reason_of("something odd happened") == "onhold"
    assert reason_of("") == "undefined"


def test_a_reason_the_format_states_stands() -> None:
    assert reason_of("550 5.1.1 user unknown", "5.1.1", hint="feedback") == "feedback"


# --- receiving providers' documented codes -------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ("550 5.5.0 Le compte du destinataire est bloque. LPN007_426", "suspend"),
        ("550 mwinf5c04 ME Adresse IP source bloquee. OFR006_102 Ref", "blocked"),
        ("421 Too many connections, slow down. LPN105-104", "toomanyconn"),
        ("552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417", "mailboxfull"),
        ("554 esmtp.cox.net rejected. IP blocked. AUP#CXBL", "blocked"),
        ("421 4.7.0 Too many connections. AUP#I-1310", "toomanyconn"),
        ("554 Message rejected. IB212", "spamdetected"),
        ("#5.0.0 X-MSEXCH:IMS:Org:Site:SRV 0 (000C05A6) Unknown Recipient", "userunknown"),
        # I.UA's explanation pages, the number after /err/ naming the cause.
        ("550 5.1.1 Mailbox does not exist. https://mail.i.ua/err/2/", "userunknown"),
        ("550 Mailbox is full http://mail.i.ua/err/4/", "mailboxfull"),
        ("554 Your IP is listed, see https://mail.i.ua/err/9/", "blocked"),
        ("550 Not in the allowed senders list https://mail.i.ua/err/10/", "filtered"),
        ("550 Sender address unverifiable https://mail.i.ua/err/8/", "rejected"),
    ],
)
def test_provider_codes_state_the_reason(diagnostic: str, reason: str) -> None:
    finding = Finding(address="x@example.org", diagnostic=diagnostic)
    providers.apply([finding], diagnostic)
    assert classify.reason(finding) == reason


def test_a_google_groups_refusal_is_a_rejected_post() -> None:
    finding = Finding(address="team@googlegroups.com", diagnostic="")
    providers.apply([finding], "Google Groups: the group may not exist.")
    assert classify.reason(finding) == "rejected"


# --- hard or soft, and the ACS failure reason -----------------------------------------------------


def test_only_a_bad_address_is_a_hard_bounce() -> None:
    assert classify.is_hard("userunknown")
    assert classify.is_hard("hostunknown")
    assert classify.is_hard("hasmoved")
    assert classify.is_hard("notaccept", "5.1.10")
    assert not classify.is_hard("notaccept", "4.3.2")
    for soft in ("mailboxfull", "suspend", "blocked", "spamdetected", "expired", "filtered"):
        assert not classify.is_hard(soft), soft


def test_failure_types() -> None:
    assert classify.failure_type("delivered", False) is None
    assert classify.failure_type("vacation", False) is FailureType.IGNORED
    assert classify.failure_type("feedback", False) is FailureType.IGNORED
    assert classify.failure_type("userunknown", True) is FailureType.HARD
    assert classify.failure_type("mailboxfull", False) is FailureType.SOFT


@pytest.mark.parametrize(
    ("reason", "acs"),
    [
        ("userunknown", FailureReason.USER_UNKNOWN),
        ("hasmoved", FailureReason.USER_UNKNOWN),
        ("hostunknown", FailureReason.INVALID_DOMAIN),
        ("notaccept", FailureReason.INVALID_DOMAIN),
        ("mailboxfull", FailureReason.MAILBOX_FULL),
        ("suspend", FailureReason.ACCOUNT_DISABLED),
        ("spamdetected", FailureReason.REFUSED),
        ("blocked", FailureReason.REFUSED),
        ("policyviolation", FailureReason.REFUSED),
        ("expired", FailureReason.UNREACHABLE),
        ("networkerror", FailureReason.UNREACHABLE),
        ("onhold", FailureReason.NOT_DEFINED),
        ("undefined", FailureReason.NOT_DEFINED),
        ("vacation", FailureReason.ERROR_IGNORED),
        ("feedback", FailureReason.ERROR_IGNORED),
    ],
)
def test_reasons_map_onto_acs_failure_reasons(reason: str, acs: FailureReason) -> None:
    assert classify.failure_reason(reason) is acs


def test_every_reason_the_labels_use_has_an_acs_reason() -> None:
    labels = json.loads(corpus_file("bounces/labels.json").read_text())
    used = {r["reason"] for sample in labels for r in sample["recipients"]} - {"delivered"}
    for reason in used:
        acs = classify.failure_reason(reason)
        assert acs is not None
        assert (acs is FailureReason.NOT_DEFINED) == (reason in ("onhold", "undefined")), reason
    assert classify.failure_reason("delivered") is None


@pytest.mark.parametrize(
    "said",
    [
        "550 5.7.0 Mail rejected for policy reasons",
        "554 Message refused due to site policy",
        "550 Denied by mail system policy",
        "554 5.7.1 Email not accepted for policy reasons",
        "550 Message not allowed by our policy",
    ],
)
def test_a_refusal_put_down_to_policy_is_a_policy_violation(said: str) -> None:
    # sisimai's PolicyViolation: "denied by policy", "... not accepted for policy reasons".
    assert reason_of(said, "5.0.0", command="DATA") == "policyviolation"


def test_a_host_or_sender_refused_by_policy_keeps_its_own_reason() -> None:
    said = "554 5.7.1 Client host rejected by policy"
    assert reason_of(said, "5.7.1", command="RCPT") == "blocked"
    said = "553 5.7.1 Sender address rejected by policy"
    assert reason_of(said, "5.7.1", command="MAIL") == "rejected"
    said = "550 5.7.1 Message rejected due to DMARC policy"
    assert reason_of(said, "5.7.1", command="DATA") == "authfailure"


def test_a_mailbox_disabled_for_now_is_blocked() -> None:
    # RFC 3463 X.2.1 "mailbox disabled"; transient, sisimai's status table names it blocked
    # (5.2.1 is filtered).
    assert reason_of("450 4.2.1 Requested action aborted", "4.2.1") == "blocked"
    # Words naming another cause still decide: a receiver's 4.2.1 rate limit.
    said = "450 4.2.1 The user is receiving mail at a rate that prevents additional messages"
    assert reason_of(said, "4.2.1") == "speeding"


# --- wording variants the reason lists name (general phrases, one per cause) ---------------------


@pytest.mark.parametrize(
    ("diagnostic", "status", "reason"),
    [
        ("554 5.7.1 Message contains spam or virus", "5.7.1", "spamdetected"),
        ("550 Message was rejected for possible spam/virus content", "5.0.0", "spamdetected"),
        ("554 Message rejected for policy reasons", "5.0.0", "spamdetected"),
        ("550 Email rejected due to security policies", "5.0.0", "policyviolation"),
        ("554 5.6.0 Header error", "5.0.0", "policyviolation"),
        ("550 Header size, or recipient list, exceeds policy limit", "5.0.0", "contenterror"),
        ("554 This message contain improperly-formatted binary content", "5.0.0", "contenterror"),
        ("552 Message size exceeds fixed maximum message size", "5.0.0", "mesgtoobig"),
        ("550 Account disabled temporarly for exceeding receiving limits", "5.0.0", "mailboxfull"),
        ("550 Please inspect your SPF settings", "5.0.0", "authfailure"),
        ("553 Sender address rejected", "5.0.0", "rejected"),
        ("554 Delivery not authorized, message refused", "5.0.0", "rejected"),
        ("550 Invalid domain, see <URL:http://x.example/>", "5.0.0", "rejected"),
        ("550 Mail domain mentioned in email address is unknown", "5.0.0", "hostunknown"),
        ("550 Recipient address rejected: Unknown domain name", "5.0.0", "hostunknown"),
        ("553 mail.example.net does not exist", "5.0.0", "hostunknown"),
        ("550 Host unknown (Name server: .: host not found)", "5.0.0", "hostunknown"),
        ("550 This email address is wrong or no longer valid", "5.1.1", "userunknown"),
    ],
)
def test_wording_of_the_reason_lists(diagnostic: str, status: str, reason: str) -> None:
    assert reason_of(diagnostic, status) == reason


def test_an_address_rejected_with_a_mailbox_code_is_the_mailbox() -> None:
    assert reason_of("550 5.1.1 Address rejected a@b.example", "5.1.1") == "userunknown"
    assert reason_of("550 Recipient address rejected: access denied", "5.0.0") != "rejected"


def test_a_recipient_refusing_mail_at_rcpt_is_unknown_and_after_data_a_filter() -> None:
    said = "550 Recipient refuses to accept your mail"
    assert reason_of(said, "5.0.0", command="RCPT") == "userunknown"
    assert reason_of(said, "5.0.0", command="DATA") == "filtered"


def test_a_command_the_server_could_not_parse_is_a_syntax_error_when_nothing_else_is_said() -> None:
    assert reason_of("501 Command not understood here", "") == "syntaxerror"
    assert reason_of("503 Bad sequence: send MAIL first", "") == "syntaxerror"
    # A cause in the words or the status code still wins.
    assert reason_of("501 5.1.1 <a@b.example>... User unknown", "5.1.1") == "userunknown"
    assert reason_of("550 Command not understood here", "") == "onhold"
