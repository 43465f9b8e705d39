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


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ("550 5.1.1 User does not exist - <friend@zoho.com>", "userunknown"),
        ("550 5.7.1 Email rejected per DMARC policy for example.org", "authfailure"),
        ("554 5.7.7 Email policy violation detected", "policyviolation"),
        ("541 5.4.1 Mail rejected by destination domain", "rejected"),
        ("451 4.7.1 Greylisted, try again after some time", "blocked"),
        ("452 4.3.1 Temporary System Error", "systemerror"),
        ("552 5.7.1 virus Eicar-Test detected by Zoho Mail", "virusdetected"),
    ],
)
def test_zoho_mail_replies(diagnostic: str, reason: str) -> None:
    assert receiver_reason(diagnostic, "friend@zoho.com", "mx.zoho.com") == reason
    assert receiver_reason(diagnostic, "friend@example.org", "mx.zohomail.eu") == reason


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        (
            "550 5.1.1 RCP-P1 http://postmaster.facebook.com/response_codes Unknown user",
            "userunknown",
        ),
        ("550 5.7.1 RCP-P2 Refused due to recipient preferences", "filtered"),
        ("421 4.7.1 POL-T1 Not accepting messages from your server", "blocked"),
        ("421 4.7.0 CON-T3 Too many new connections", "toomanyconn"),
        ("554 5.7.1 POL-P5 The message contains a virus", "virusdetected"),
        ("550 5.2.1 RCP-T4 The recipient address is deactivated", "suspend"),
    ],
)
def test_facebooks_response_codes(diagnostic: str, reason: str) -> None:
    assert receiver_reason(diagnostic, "someone@facebook.com") == reason
    # Relayed: its postmaster link tells whose reply it is.
    linked = f"{diagnostic} see https://www.facebook.com/postmaster/response_codes"
    assert receiver_reason(linked, "someone@example.org") == reason


def test_a_facebook_like_label_elsewhere_is_not_read() -> None:
    assert receiver_reason("550 5.1.1 RCP-P1 unknown user", "someone@example.org") == ""


@pytest.mark.parametrize(
    ("status", "command", "diagnostic", "reason"),
    [
        ("5.1.1", "RCPT", "550 Unknown user friend@docomo.ne.jp", "userunknown"),
        ("5.2.0", "DATA", "550 Unknown user friend@docomo.ne.jp", "filtered"),
        ("5.0.0", "RCPT", "550 Unknown user friend@docomo.ne.jp", "userunknown"),
        ("5.0.0", "DATA", "550 Unknown user friend@docomo.ne.jp", "rejected"),
        ("5.0.0", "DATA", "552 Too much mail data", "mailboxfull"),
        ("5.0.0", "RCPT", "552 Too many recipients", "toomanyconn"),
        ("5.0.0", "DATA", "503 Bad sequence of commands", "syntaxerror"),
    ],
)
def test_docomo_is_read_by_its_status_and_step(
    status: str, command: str, diagnostic: str, reason: str
) -> None:
    finding = Finding(
        address="friend@docomo.ne.jp", diagnostic=diagnostic, status=status, command=command
    )
    rhost.apply([finding], diagnostic)
    assert classify.reason(finding) == reason


@pytest.mark.parametrize(
    ("diagnostic", "address", "host", "reason"),
    [
        (
            "554 192.0.2.1 found on one or more DNSBLs (abusixip), see "
            "https://developers.cloudflare.com/email-routing/postmaster/",
            "me@example.org",
            "",
            "blocked",
        ),
        (
            "451 4.3.0 Upstream error, please try again",
            "me@example.org",
            "route1.mx.cloudflare.net",
            "systemerror",
        ),
        (
            "550 Host or domain name not found. Name service error for name=x.example type=A",
            "friend@aol.com",
            "",
            "hostunknown",
        ),
        (
            "450 Host or domain name not found. Name service error for name=x.example "
            "type=MX: Malformed or unexpected name server reply",
            "friend@aol.com",
            "",
            "notaccept",
        ),
    ],
)
def test_cloudflare_and_aol_replies(diagnostic: str, address: str, host: str, reason: str) -> None:
    assert receiver_reason(diagnostic, address, host) == reason


@pytest.mark.parametrize(
    ("status", "diagnostic", "reason"),
    [
        ("5.7.606", "550 5.7.606 Access denied, banned sending IP [192.0.2.1]", "blocked"),
        (
            "4.7.650",
            "451 4.7.650 The mail server has been temporarily rate limited due to IP reputation",
            "badreputation",
        ),
        (
            "5.4.14",
            "554 5.4.14 Hop count exceeded - possible mail loop ATTR34; routing loop detected",
            "networkerror",
        ),
        ("5.7.705", "550 5.7.705 Access denied, tenant has exceeded threshold", "speeding"),
        ("5.7.912", "550 5.7.912 Delivery not authorized, message refused", "policyviolation"),
        ("5.1.7", "550 5.1.7 Invalid address", "rejected"),
        ("5.7.504", "550 5.7.504 Recipient address rejected: Access denied", "suspend"),
        ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied", "userunknown"),
        ("4.3.1", "452 4.3.1 Insufficient system resources", "systemfull"),
    ],
)
def test_microsofts_documented_ndrs_by_status_and_text(
    status: str, diagnostic: str, reason: str
) -> None:
    finding = Finding(
        address="someone@contoso.example",
        diagnostic=diagnostic,
        status=status,
        remote_host="contoso-example.mail.protection.outlook.com",
    )
    rhost.apply([finding], diagnostic)
    assert classify.reason(finding) == reason


def test_a_microsoft_text_under_another_status_is_left_to_the_phrases() -> None:
    # "Invalid address" is a refused sender only under 5.1.7; under 5.1.1 it is the recipient.
    finding = Finding(
        address="someone@outlook.com", diagnostic="550 5.1.1 Invalid address", status="5.1.1"
    )
    rhost.apply([finding], finding.diagnostic)
    assert classify.reason(finding) == "userunknown"
