"""Receivers' replies read as sisimai's Rhost modules read them: a row per documented reply,
worded in sentences of our own around the phrase or code each receiver's table keys on."""

from __future__ import annotations

import pytest

from mailcast.feedback import providers, rhost
from mailcast.feedback.model import Finding


def reply_reason(address: str, remote_host: str, status: str, diagnostic: str) -> str:
    finding = Finding(
        address=address, status=status, diagnostic=diagnostic, remote_host=remote_host
    )
    providers.apply([finding], diagnostic)
    rhost.apply([finding], diagnostic)
    return finding.hint


GMAIL = ("pat@gmail.com", "gmail-smtp-in.l.google.com")
EXO = ("pat@contoso.example", "contoso-example.mail.protection.outlook.com")
MIMECAST = ("pat@example.co.uk", "eu-smtp-inbound-2.mimecast.com")
COX = ("pat@cox.net", "mx.west.cox.net")
ORANGE = ("pat@orange.fr", "smtp-in.orange.fr")
YAHOO = ("pat@yahoo.com", "mta5.am0.yahoodns.net")


@pytest.mark.parametrize(
    ("receiver", "status", "diagnostic", "reason"),
    [
        # Google: the same words under another status name another cause.
        (
            GMAIL,
            "5.2.3",
            "552 5.2.3 Sorry, this exceeded Google's message size limits",
            "exceedlimit",
        ),
        (
            GMAIL,
            "5.3.4",
            "552 5.3.4 Sorry, this exceeded Google's message size limits",
            "mesgtoobig",
        ),
        (
            GMAIL,
            "5.3.4",
            "552 5.3.4 Header X-Long is 9000 bytes per individual header size",
            "exceedlimit",
        ),
        (
            GMAIL,
            "5.3.4",
            "552 5.3.4 The count of 40 exceeds Google's limit of 25 attachments",
            "exceedlimit",
        ),
        (
            GMAIL,
            "5.1.7",
            "553 5.1.7 The sender address <a@@b> is not a valid RFC 5321 address",
            "notcompliantrfc",
        ),
        (
            GMAIL,
            "5.1.3",
            "553 5.1.3 The recipient <x y@z> is not a valid RFC 5321 address",
            "userunknown",
        ),
        (GMAIL, "5.5.2", "555 5.5.2 Syntax error in what you just sent us", "syntaxerror"),
        (
            GMAIL,
            "5.7.4",
            "504 5.7.4 XOAUTH is no longer supported, use another mechanism",
            "syntaxerror",
        ),
        (GMAIL, "5.2.1", "550 5.2.1 This account that you tried to reach is inactive", "suspend"),
        (
            GMAIL,
            "4.2.1",
            "450 4.2.1 Pat gets mail at a rate that prevents additional messages "
            "from being delivered",
            "speeding",
        ),
        (
            GMAIL,
            "5.7.1",
            "550 5.7.1 The domain you are sending to has a policy that prohibited this",
            "policyviolation",
        ),
        # Exchange Online: TLS failures of its outbound delivery are failedstarttls.
        (
            EXO,
            "4.4.317",
            "450 4.4.317 Sadly STARTTLS is required to send mail to that host",
            "failedstarttls",
        ),
        (
            EXO,
            "5.7.322",
            "550 5.7.322 certificate-expired: destination mail server's certificate is old",
            "failedstarttls",
        ),
        (
            EXO,
            "5.7.325",
            "550 5.7.325 certificate-host-mismatch: remote certificate must name this host",
            "failedstarttls",
        ),
        (
            EXO,
            "4.4.8",
            "451 4.4.8 MX hosts of example.net failed MTA-STS validation today",
            "failedstarttls",
        ),
        (
            EXO,
            "4.4.4",
            "450 4.4.4 This is a hosted tenant which has no mail-enabled subscriptions",
            "notaccept",
        ),
        (
            EXO,
            "5.4.316",
            "550 5.4.316 Message expired after the remote end kept refusing",
            "expired",
        ),
        (
            EXO,
            "5.1.351",
            "550 5.1.351 Remote server returned unknown recipient or mailbox unavailable",
            "userunknown",
        ),
        # Mimecast.
        (
            MIMECAST,
            "5.0.0",
            "553 Sorry, this route requires encryption (TLS) on every hop",
            "failedstarttls",
        ),
        (MIMECAST, "4.0.0", "451 Account outbounds disabled for this customer", "onhold"),
        (
            MIMECAST,
            "4.0.0",
            "451 The incorrect hostname used for inbounds, check your MX",
            "networkerror",
        ),
        (MIMECAST, "5.0.0", "550 Journal messages past the expiration are refused", "expired"),
        (
            MIMECAST,
            "5.0.0",
            "550 Submitter failed to authenticate with valid credentials",
            "securityerror",
        ),
        (MIMECAST, "5.0.0", "554 Host network, not allowed by geography rules", "policyviolation"),
        # Cox: its AUP# block-list codes, and its replies without a code.
        (COX, "5.7.1", "554 5.7.1 Your IP is listed with us. AUP#IPBL0101 ", "blocked"),
        (COX, "5.7.1", "554 5.7.1 A link in the message is listed. AUP#URLBL110 ", "spamdetected"),
        (COX, "5.0.0", "421 Too many sessions from 192.0.2.1, come back later", "toomanyconn"),
        (COX, "5.0.0", "554 rejected - no rDNS for 192.0.2.1", "requireptr"),
        (COX, "5.1.1", "550 Recipient rejected, no such Cox mailbox", "userunknown"),
        # Orange: the SPF refusal carries no label.
        (
            ORANGE,
            "4.0.0",
            "421 Emetteur invalide, veuillez verifier la configuration "
            "SPF/DNS de votre nom de domaine",
            "authfailure",
        ),
        # Yahoo's TSS04 deferral, from Yahoo's own MX.
        (
            YAHOO,
            "4.7.0",
            "421 4.7.0 [TSS04] Mail from 192.0.2.9 temporarily deferred due to "
            "unexpected volume or user complaints",
            "rejected",
        ),
    ],
)
def test_receiver_reply_reads_as_sisimai(
    receiver: tuple[str, str], status: str, diagnostic: str, reason: str
) -> None:
    address, host = receiver
    assert reply_reason(address, host, status, diagnostic) == reason


def test_yahoo_deferral_needs_yahoos_own_mx() -> None:
    # Relayed by a host that is not Yahoo's, the deferral is left to the generic reading.
    text = "421 4.7.0 [TSS04] Mail temporarily deferred due to unexpected volume or user complaints"
    assert reply_reason("pat@yahoo.com", "", "4.7.0", text) == ""
