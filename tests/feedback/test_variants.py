"""Harmless variations of a notice (how it was saved, how a reply is spaced) keep its reading."""

from __future__ import annotations

import notices as n
import pytest
from reading import outcomes

A, B = "alice@dest.example", "bob@other.example"
FROM_LINE = b"From MAILER-DAEMON  Fri Dec  4 10:00:00 2026\r\n"


def test_a_saved_notice_that_pastes_a_forwarded_notice_is_one_message() -> None:
    """A From_ line under a rule of dashes is the body's, not the start of a next message."""
    forwarded = n.postfix([n.mailbox_full(B)])
    notice = n.qmail([n.unknown_at_rcpt(A)]) + b"\r\n" + b"-" * 33 + b"\r\n" + FROM_LINE + forwarded
    assert outcomes(FROM_LINE + notice) == outcomes(notice)


def test_a_mailbox_message_may_follow_a_closed_multipart_without_a_blank_line() -> None:
    first = n.postfix([n.unknown_at_rcpt(A)]).rstrip(b"\r\n") + b"\r\n"
    second = n.exim([n.mailbox_full(B)])
    assert outcomes(FROM_LINE + first + FROM_LINE + second) == [
        (A, "userunknown", True),
        (B, "mailboxfull", False),
    ]


# Replies the receivers' own tables name, as each receiver words them.
RECEIVER_REPLIES = [
    ("kijitora@ezweb.ne.jp", "550 <kijitora@ezweb.ne.jp>: User unknown", "userunknown"),
    ("kijitora@docomo.ne.jp", "552 Too many recipients", "toomanyconn"),
    (
        "kijitora@yahoo.com",
        "554 delivery error: dd This user doesn't have a yahoo.com account",
        "userunknown",
    ),
]


@pytest.mark.parametrize(("address", "reply", "reason"), RECEIVER_REPLIES)
def test_a_receivers_reply_padded_with_spaces_names_the_same_reason(
    address: str, reply: str, reason: str
) -> None:
    def read(said: str) -> list[tuple[str, str, bool]]:
        failure = n.Failure(address, "RCPT", said, reason)
        return outcomes(n.postfix([failure], with_status=True))

    plain = read(reply)
    assert [r[1] for r in plain] == [reason]
    assert read(reply.replace(" ", "  ")) == plain
