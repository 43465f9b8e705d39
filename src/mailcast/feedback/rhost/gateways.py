"""Hosting providers and filtering gateways: GoDaddy, Mimecast, MessageLabs."""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.rhost.common import Receiver, table

GODADDY = Receiver(
    "godaddy",
    ("secureserver.net", ".secureserver.net"),
    # GoDaddy's bounce-back messages (sisimai's Rhost::GoDaddy); its "IBnnn" codes are read
    # with the other providers' codes (providers.py).
    table(
        (Reason.BLOCKED, r"rbl reject|spamhaus\.org/query/bl\?ip="),
        (Reason.EXPIRED, r"has been in the queue too long|delivery timeout"),
        (Reason.MAILBOX_FULL, r"account storage limit"),
        (Reason.SPAM_DETECTED, r"message rejected for spam or virus content"),
        (Reason.SUSPEND, r"account disabled"),
        (Reason.SYSTEM_ERROR, r"message is looping"),
        (Reason.USER_UNKNOWN, r"recipient not found|account does not exist"),
    ),
)
MIMECAST = Receiver(
    "mimecast",
    ("mimecast.com", ".mimecast.com", "mimecast.co.za", ".mimecast.co.za"),
    # Mimecast's SMTP error codes page, as sisimai's Rhost::Mimecast.
    table(
        (Reason.AUTH_FAILURE, r"(?:spf|dkim|dmarc) sender invalid - envelope rejected"),
        (
            Reason.BAD_REPUTATION,
            r"internal resources are temporarily unavailable|local ct ip reputation",
        ),
        (
            Reason.BLOCKED,
            r"sender address blocked|recipient temporarily unavailable|ip temporarily blacklisted",
        ),
        # Journaling past the expiry threshold: "messages past the expiration" is the
        # expired message, "message past expiration" the account held back (onhold).
        (Reason.EXPIRED, r"journal messages past the expiration"),
        (
            Reason.FAILED_STARTTLS,
            r"this route requires (?:encryption|tls|high-strength)"
            r"|configuration is invalid for this certificate",
        ),
        (Reason.MESG_TOO_BIG, r"maximum email size exceeded"),
        (Reason.NETWORK_ERROR, r"mail loop detected|incorrect hostname used for inbounds"),
        (Reason.NO_RELAYING, r"open relay (?:is )?not allowed"),
        (Reason.NOT_ACCEPT, r"account inbounds disabled"),
        # The customer's own account is held: outbound disabled, an unauthorised hostname.
        (
            Reason.ON_HOLD,
            r"account outbounds disabled|hostname is not authorized"
            r"|journal message past expiration",
        ),
        (
            Reason.POLICY_VIOLATION,
            r"anti-spoofing policy|content examination policy|host network,? not allowed",
        ),
        (
            Reason.REJECTED,
            r"administrative prohibition envelope blocked|envelope blocked|manually blocked"
            r"|blocked senders|block policy for envelope from",
        ),
        (
            Reason.SECURITY_ERROR,
            r"incorrect authentication data|submitter failed to authenticate",
        ),
        (
            Reason.SYSTEM_ERROR,
            r"unable to process (?:connection|command|an email)|message ended early",
        ),
        (
            Reason.TOO_MANY_CONN,
            r"account service is temporarily unavailable|too many recipients"
            r"|exceeding outbound thread limit",
        ),
        (Reason.USER_UNKNOWN, r"invalid address|user unknown|invalid recipient"),
        (Reason.VIRUS_DETECTED, r"email rejected due to security policies"),
    ),
    re.compile(r"\bmimecast\.com\b", re.I),
    re.compile(r"\bmimecast\.com\b", re.I),
)
MESSAGELABS = Receiver(
    "messagelabs",
    ("messagelabs.com", ".messagelabs.com"),
    # Symantec (Broadcom) Email Security.cloud's documented replies: sisimai's Rhost::MessageLabs.
    table(
        (Reason.AUTH_FAILURE, r"domain authentication fail"),
        (Reason.BAD_REPUTATION, r"connection rejected by policy"),
        (
            Reason.REJECTED,
            r"sender envelope domain not allowed|your (?:domain|email address) has been "
            r"(?:blocked|blacklisted)|your envelope sender is in my badmailfrom list",
        ),
        (Reason.BLOCKED, r"your ip is in the pbl|your ip address (?:\S{1,60} )?has been"),
        (Reason.CONTENT_ERROR, r"stray linefeeds in message"),
        (Reason.FAILED_STARTTLS, r"tls/sslv3 connection required"),
        (Reason.NO_RELAYING, r" as a relay, "),
        (Reason.NOT_COMPLIANT_RFC, r"requested action aborted \[4\]|this message is not rfc 5322"),
        (Reason.SECURITY_ERROR, r"turn on smtp authentication"),
        (Reason.SPAM_DETECTED, r"message filtered|filtered by outbound scanning"),
        (Reason.TOO_MANY_CONN, r"too many recipients received this hour|too many messages"),
        (Reason.USER_UNKNOWN, r"no such user|invalid recipient|mailbox is not allowed"),
    ),
    re.compile(r"\bmessagelabs\.com\b|symanteccloud\.com", re.I),
    re.compile(r"delivery agent at messagelabs\.com|messagelabs\.com/support", re.I),
)
