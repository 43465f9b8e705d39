"""Big receivers' reply tables: known by the recipient's domain, the answering host or their
own trailer, their documented wording names the reason whatever the step or code says."""

from __future__ import annotations

import pytest

from mailcast.feedback import classify, rhost
from mailcast.feedback.model import Finding


def receiver_reason(
    diagnostic: str, address: str = "someone@example.net", remote_host: str = "", notice: str = ""
) -> str:
    finding = Finding(address=address, diagnostic=diagnostic, remote_host=remote_host)
    rhost.apply([finding], notice or diagnostic)
    return finding.hint


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ("550 Mailbox not found. Please check the address", "userunknown"),
        ("550 Domain frequency limited, try again later", "toomanyconn"),
        ("550 Sender frequency limited", "toomanyconn"),
        ("550 Suspected spam ip, connection refused", "blocked"),
        ("550 Mail is rejected by recipients", "rejected"),
        ("552 Message too large for this server", "mesgtoobig"),
        ("550 DMARC check failed for your domain", "authfailure"),
    ],
)
def test_tencent_replies_by_its_mail_exchanger(diagnostic: str, reason: str) -> None:
    assert receiver_reason(diagnostic, "friend@qq.com", "mx2.qq.com") == reason
    # Relayed through another host, Tencent's help link still tells whose reply it is.
    linked = f"{diagnostic}. https://service.mail.qq.com/detail/122/1"
    assert receiver_reason(linked, "friend@example.cn") == reason


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ("554 RBL Reject, see http://www.spamhaus.org/query/bl?ip=192.0.2.9", "blocked"),
        ("553 http://www.spamhaus.org/query/bl?ip=192.0.2.9", "blocked"),
        ("550 Account storage limit reached", "mailboxfull"),
        ("550 Account disabled", "suspend"),
        ("451 Sorry, this message has been in the queue too long", "expired"),
    ],
)
def test_godaddy_replies(diagnostic: str, reason: str) -> None:
    assert receiver_reason(diagnostic, remote_host="smtp.secureserver.net") == reason


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        (
            "554 Email rejected due to security policies - https://community.mimecast.com/x",
            "virusdetected",
        ),
        ("550 Invalid Recipient - https://community.mimecast.com/docs", "userunknown"),
        ("550 Rejected by header based Anti-Spoofing policy", "policyviolation"),
        ("451 Open relay not allowed", "norelaying"),
    ],
)
def test_mimecast_replies(diagnostic: str, reason: str) -> None:
    assert receiver_reason(diagnostic, remote_host="eu-smtp-inbound-1.mimecast.com") == reason
    assert receiver_reason(diagnostic.split(" - https")[0], "x@example.co.uk") in ("", reason)


def test_messagelabs_replies() -> None:
    host = "cluster1.eu.messagelabs.com"
    assert receiver_reason("550 No such user (#5.1.1)", remote_host=host) == "userunknown"
    assert receiver_reason("553 DMARC domain authentication fail", remote_host=host) == (
        "authfailure"
    )
    assert receiver_reason(
        "553 your envelope sender is in my badmailfrom list", remote_host=host
    ) == ("rejected")


def test_a_reply_signed_by_a_receiver_is_read_with_its_table() -> None:
    # Google's replies end with "- gsmtp"; the recipient's domain may be anyone's (G Suite).
    google = (
        "550-5.2.1 The email account that you tried to reach is disabled. Learn more at "
        "550 5.2.1 https://support.google.com/mail/?p=DisabledUser abc123 - gsmtp"
    )
    assert receiver_reason(google, "staff@example.org") == "suspend"
    # Exchange Online names its own front end in brackets at the end of the reply.
    microsoft = (
        "550 5.7.606 Access denied, banned sending IP [192.0.2.9]. "
        "[AB1CD2EF345.eurprd01.prod.outlook.com]"
    )
    assert receiver_reason(microsoft, "staff@example.org") == "blocked"


def test_an_unsigned_reply_from_an_unknown_host_gets_no_receiver_reason() -> None:
    assert receiver_reason("550 frequency limited", "a@example.org", "mx.example.org") == ""
    assert receiver_reason("554 IB104 whatever", "a@example.org", "mx.example.org") == ""


def test_the_receivers_reason_outranks_the_status_code() -> None:
    finding = Finding(
        address="friend@qq.com",
        status="5.0.0",
        reply_code="550",
        command="DATA",
        diagnostic="550 Connection frequency limited [abc]",
        remote_host="mx3.qq.com",
    )
    rhost.apply([finding], finding.diagnostic)
    assert classify.reason(finding) == "toomanyconn"
    assert not classify.is_hard("toomanyconn", finding.status, finding.reply_code)


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ("421 4.7.0 Connection expired, try reconnecting.", "expired"),
        (
            "550 5.7.1 Messages missing a valid Message-ID: header are not accepted.",
            "notcompliantrfc",
        ),
        ("552 5.7.0 Our system detected an illegal attachment on your message.", "policyviolation"),
        ("421 4.7.0 The IP address sending this message does not have a PTR record", "requireptr"),
        ("535 5.7.8 Username and Password not accepted.", "securityerror"),
        ("550 5.4.5 Daily user sending limit exceeded.", "speeding"),
        ("452 4.5.3 Your message has too many recipients.", "toomanyconn"),
        ("503 5.5.1 Bad sequence of commands.", "syntaxerror"),
        ("421 4.7.0 Gmail has detected this message is likely unsolicited mail", "spamdetected"),
    ],
)
def test_googles_documented_replies(diagnostic: str, reason: str) -> None:
    assert receiver_reason(f"{diagnostic} abc123 - gsmtp", "someone@gmail.com") == reason
