"""Reason wording checked against sisimai's Reason modules, from sisimai's side.

Each sentence is written here (not taken from sisimai's lists or samples): it carries one of
the causes sisimai's Reason modules name, with a neutral status code (X.0.0) so that the words
decide, and the SMTP step the server answered when the step changes sisimai's verdict.
"""

from __future__ import annotations

import pytest

from mailcast.feedback import classify
from mailcast.feedback.model import Finding


def reason_of(diagnostic: str, status: str = "5.0.0", command: str = "") -> str:
    reply = diagnostic[:3] if diagnostic[:3].isdigit() else ""
    finding = Finding(
        diagnostic=diagnostic,
        status=status,
        reply_code=reply,
        command=command,
        diagnostic_type="smtp",
    )
    return classify.reason(finding)


@pytest.mark.parametrize(
    ("diagnostic", "command", "reason"),
    [
        # mailboxfull: the mailbox's quota, whatever the delivery agent calls it
        ("552 Sorry, the diskspace quota of this account is used up", "RCPT", "mailboxfull"),
        ("452 Maildir delivery failed: Domaindisk quota reached", "", "mailboxfull"),
        (
            "552 Mail file size exceeds the maximum size allowed for mail delivery",
            "DATA",
            "mailboxfull",
        ),
        # exceedlimit / mesgtoobig: "too large" alone is the receiver's limit
        ("552 Message too large", "DATA", "exceedlimit"),
        ("552 Message too large for this system", "DATA", "mesgtoobig"),
        # userunknown: said at RCPT TO
        ("550 Mailbox is inactive", "RCPT", "userunknown"),
        ("550 RCPT (bob@example.org) doesn't exist here", "RCPT", "userunknown"),
        ("550 5.0.0 Does not exist.", "RCPT", "userunknown"),
        ("550 <bob@example.org>... Blocked by the administrator", "RCPT", "userunknown"),
        ("550 The addresses given are not email addresses", "RCPT", "userunknown"),
        # ... and after the content was sent, a filter's excuse
        ("550 Mailbox is inactive", "DATA", "filtered"),
        ("550 5.0.0 Does not exist.", "DATA", "filtered"),
        # filtered
        ("550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized to send", "DATA", "filtered"),
        (
            "550 Due to extended inactivity new mail is not currently being accepted here",
            "",
            "filtered",
        ),
        ("550 Message filtered by the recipient's rules", "DATA", "filtered"),
        # blocked: the sending host refused
        ("554 Error: no valid recipients from mx.example.net [192.0.2.1]", "RCPT", "blocked"),
        ("554 Message refused (mx.example.net@192.0.2.9:blocked)", "", "blocked"),
        (
            "host mx.example.org refused to talk to me: 554 192.0.2.1 is blocked here",
            "",
            "blocked",
        ),
        (
            "SMTP error from remote mail server after initial connection: 554 Access restricted",
            "CONN",
            "blocked",
        ),
        (
            "550 A request to submit messages to this e-mail system has been rejected",
            "",
            "blocked",
        ),
        (
            "421 Veuillez essayer plus tard. Service refused, please try later. ABC123_510",
            "CONN",
            "blocked",
        ),
        ("550 Relaying denied: your IP 192.0.2.1 is blacklisted", "EHLO", "blocked"),
        # spamdetected: words about the message, even at RCPT TO
        ("550 Blocked by SpamAssassin", "RCPT", "spamdetected"),
        ("554 Rejected: blacklisted URL in message", "RCPT", "spamdetected"),
        ("550 Message filtered", "RCPT", "spamdetected"),
        ("550 Mail rejete. Mail rejected. XYZ_506", "DATA", "spamdetected"),
        # ... but a sending host named as a spam source is still blocked
        ("550 5.7.1 Client host blocked for sending spam", "RCPT", "blocked"),
        # rejected
        ("550 All recipient addresses rejected : Access denied", "RCPT", "rejected"),
        ("550 Address is on the spam reporting address list", "RCPT", "rejected"),
        # norelaying
        (
            "554 Message rejected: Email address is not verified. These identities failed",
            "",
            "norelaying",
        ),
        ("554 Relay access denied", "CONN", "norelaying"),
        # authfailure, notcompliantrfc, requireptr, securityerror
        ("550 sender.example.net is not allowed to send mail. ref_401", "", "authfailure"),
        ("554 Message contains multiple Subject header fields", "DATA", "notcompliantrfc"),
        ("451 DNS lookup failure: mx.example.net, try again later", "CONN", "requireptr"),
        ("550 Authentification requise, code 402", "MAIL", "securityerror"),
    ],
)
def test_sisimais_causes_in_other_words(diagnostic: str, command: str, reason: str) -> None:
    status = "4.0.0" if diagnostic.startswith("4") else "5.0.0"
    assert reason_of(diagnostic, status, command) == reason


@pytest.mark.parametrize(
    ("diagnostic", "status", "reason"),
    [
        # Words about the queue giving up decide over a network status code...
        ("421 4.4.2 Unable to deliver message after multiple retries", "4.4.2", "expired"),
        ("451 4.4.0 Message timed out", "4.4.0", "expired"),
        ("550 5.4.0 Server did not respond", "5.4.0", "expired"),
        # ... a failed connection is still the network's.
        ("421 4.4.2 Connection refused", "4.4.2", "networkerror"),
        ("451 4.4.0 Mail forwarding loop for bob@example.org", "4.4.7", "networkerror"),
    ],
)
def test_expiry_and_network_codes(diagnostic: str, status: str, reason: str) -> None:
    assert reason_of(diagnostic, status) == reason


@pytest.mark.parametrize("status", ["5.0.0", "5.4.0", "5.5.0", "4.4.1"])
def test_unknown_user_is_the_mailbox_only_at_rcpt_or_with_a_mailbox_code(status: str) -> None:
    # sisimai: UserUnknown at RCPT TO (or with X.1.X), Filtered at any other step.
    said = f"{status[0]}50 {status} User unknown"
    assert reason_of(said, status, "RCPT") == "userunknown"
    assert reason_of(said, status, "DATA") == "filtered"
    assert reason_of(said, status, "") == "filtered"
    assert reason_of(said.replace(status, "5.1.1"), "5.1.1", "") == "userunknown"


def test_a_status_code_is_not_a_domain_that_does_not_exist() -> None:
    assert reason_of("550 5.0.0 does not exist", "5.0.0", "DATA") != "hostunknown"
    assert reason_of("550 mail.example.net does not exist", "5.0.0", "RCPT") == "hostunknown"
