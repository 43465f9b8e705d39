"""Status codes alone, checked against sisimai's status table and its reason.Find() order.

Each diagnostic names no cause, so the enhanced status code (its class, its subject), the
reply code and the SMTP step are all there is to read.
"""

from __future__ import annotations

import pytest

from mailcast.feedback import classify
from mailcast.feedback.codes import decisive_reason, status_reason
from mailcast.feedback.model import Finding


def reason_for(status: str, reply: str = "", command: str = "") -> str:
    reply = reply or ("550" if status.startswith("5") else "451")
    words = "Command not completed" if status.startswith("5") else "Please come back later"
    finding = Finding(
        address="pat@example.net",
        status=status,
        reply_code=reply,
        command=command,
        diagnostic=f"{reply} {status} {words}",
        diagnostic_type="smtp",
    )
    return classify.reason(finding)


# sisimai's table for the permanent class (smtp/status Name()), codes with no name after it.
PERMANENT = {
    "5.1.0": "userunknown",
    "5.1.1": "userunknown",
    "5.1.2": "hostunknown",
    "5.1.3": "userunknown",
    "5.1.4": "filtered",
    "5.1.6": "hasmoved",
    "5.1.7": "rejected",
    "5.1.8": "rejected",
    "5.1.9": "systemerror",
    "5.1.10": "notaccept",
    "5.2.0": "filtered",
    "5.2.1": "filtered",
    "5.2.2": "mailboxfull",
    "5.2.3": "exceedlimit",
    "5.2.4": "filtered",
    "5.3.0": "systemerror",
    "5.3.1": "systemfull",
    "5.3.2": "notaccept",
    "5.3.3": "systemerror",
    "5.3.4": "mesgtoobig",
    "5.3.5": "systemerror",
    "5.4.0": "networkerror",
    "5.4.3": "systemerror",
    "5.4.4": "hostunknown",
    "5.5.2": "syntaxerror",
    "5.5.3": "toomanyconn",
    "5.5.4": "systemerror",
    "5.5.5": "systemerror",
    "5.5.6": "syntaxerror",
    "5.6.0": "contenterror",
    "5.6.1": "contenterror",
    "5.6.3": "contenterror",
    "5.6.9": "contenterror",
    "5.7.0": "securityerror",
    "5.7.1": "securityerror",
    "5.7.8": "securityerror",
    "5.7.11": "securityerror",
    "5.7.13": "suspend",
    "5.7.14": "securityerror",
    "5.7.16": "mesgtoobig",
    "5.7.17": "hasmoved",
    "5.7.18": "hasmoved",
    "5.7.19": "securityerror",
    "5.7.20": "authfailure",
    "5.7.23": "authfailure",
    "5.7.24": "authfailure",
    "5.7.25": "requireptr",
    "5.7.26": "authfailure",
    "5.7.27": "notaccept",
    "5.7.28": "spamdetected",
    "5.7.29": "authfailure",
    "5.7.30": "failedstarttls",
    # Not in the table: the subject decides (X.6 content, X.7 security), else nothing does.
    "5.6.4": "contenterror",
    "5.7.12": "securityerror",
    "5.0.0": "onhold",
    "5.5.0": "onhold",
    "5.5.1": "onhold",
}

# The transient class: sisimai names fewer codes; a 4.1.1 is no verdict on the mailbox yet.
TRANSIENT = {
    "4.1.6": "hasmoved",
    "4.1.7": "rejected",
    "4.1.8": "rejected",
    "4.1.9": "systemerror",
    "4.2.1": "blocked",
    "4.2.2": "mailboxfull",
    "4.2.3": "exceedlimit",
    "4.2.4": "filtered",
    "4.3.1": "systemfull",
    "4.3.2": "notaccept",
    "4.3.3": "systemerror",
    "4.3.5": "systemerror",
    "4.4.1": "expired",
    "4.4.2": "networkerror",
    "4.4.3": "systemerror",
    "4.4.4": "networkerror",
    "4.4.5": "systemfull",
    "4.4.6": "networkerror",
    "4.4.7": "expired",
    "4.4.8": "networkerror",
    "4.5.3": "systemerror",
    "4.5.5": "systemerror",
    "4.6.0": "contenterror",
    "4.6.5": "contenterror",
    "4.7.1": "blocked",
    "4.7.2": "blocked",
    "4.7.5": "securityerror",
    "4.7.12": "securityerror",
    "4.7.15": "securityerror",
    "4.7.16": "mesgtoobig",
    "4.7.24": "authfailure",
    "4.7.25": "requireptr",
    "4.7.26": "authfailure",
    # Named for the permanent class only.
    "4.1.0": "onhold",
    "4.1.1": "onhold",
    "4.1.2": "onhold",
    "4.1.3": "onhold",
    "4.1.4": "onhold",
    "4.1.10": "onhold",
    "4.2.0": "onhold",
    "4.3.0": "onhold",
    "4.3.4": "onhold",
    "4.4.0": "onhold",
    "4.5.2": "onhold",
    "4.5.4": "onhold",
    "4.5.6": "onhold",
    "4.7.13": "securityerror",
    "4.7.17": "securityerror",
    "4.7.18": "securityerror",
    "4.7.20": "securityerror",
    "4.7.27": "securityerror",
    "4.7.28": "securityerror",
    "4.7.30": "securityerror",
    "4.0.0": "onhold",
}


@pytest.mark.parametrize(("status", "expected"), sorted({**PERMANENT, **TRANSIENT}.items()))
def test_a_status_code_alone_names_sisimais_reason(status: str, expected: str) -> None:
    assert reason_for(status) == expected


@pytest.mark.parametrize("command", ["RCPT", "DATA"])
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("5.1.1", "userunknown"),
        ("5.2.1", "filtered"),
        ("5.3.4", "mesgtoobig"),
        ("5.7.1", "securityerror"),
        ("5.7.16", "mesgtoobig"),
        ("4.1.1", "onhold"),
        ("4.2.1", "blocked"),
        ("4.7.17", "securityerror"),
    ],
)
def test_after_rcpt_or_data_the_code_still_decides(
    status: str, command: str, expected: str
) -> None:
    assert reason_for(status, command=command) == expected


def test_a_transient_bad_mailbox_is_not_a_hard_bounce() -> None:
    for status in ("4.1.1", "4.1.2", "4.7.17"):
        name = reason_for(status)
        assert not classify.is_hard(name, status=status)
    assert classify.is_hard(reason_for("5.1.1"), status="5.1.1")
    assert classify.is_hard(reason_for("5.7.17"), status="5.7.17")


@pytest.mark.parametrize(
    ("status", "reply", "expected"),
    [
        ("5.0.0", "525", "suspend"),  # RFC 7504 user account disabled
        ("5.1.1", "525", "suspend"),  # sisimai tries Suspend (reply 525) before UserUnknown
        ("5.2.2", "525", "mailboxfull"),  # ... but after MailboxFull
        ("5.0.0", "501", "syntaxerror"),
        ("5.5.4", "501", "systemerror"),  # a named code before the syntax reply
        ("5.7.1", "501", "securityerror"),
    ],
)
def test_reply_codes_against_the_status(status: str, reply: str, expected: str) -> None:
    assert reason_for(status, reply=reply) == expected


def test_decisive_codes_follow_the_class() -> None:
    assert decisive_reason("5.7.16") == decisive_reason("4.7.16") == "mesgtoobig"
    assert decisive_reason("5.7.13") == "suspend"
    assert decisive_reason("4.7.13") == ""
    assert decisive_reason("4.3.4") == ""
    assert status_reason("4.1.1") == ""
    assert status_reason("4.4.4") == "networkerror"
    assert status_reason("5.4.4") == "hostunknown"
    assert status_reason("2.1.5") == ""
